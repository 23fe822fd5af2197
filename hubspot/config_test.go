package hubspot

import (
	"strings"
	"testing"
)

// TestConfigClosedByDefault: off without both secrets; one without the
// other, or without HUBSPOT_STAGES, refuses in one line naming what to set.
func TestConfigClosedByDefault(t *testing.T) {
	cases := []struct {
		env  map[string]string
		on   bool
		says string
	}{
		{map[string]string{}, false, ""},
		{map[string]string{"HUBSPOT_TOKEN": "pat"}, true, "HUBSPOT_CLIENT_SECRET is not"},
		{map[string]string{"HUBSPOT_CLIENT_SECRET": "s"}, true, "HUBSPOT_TOKEN is not"},
		{map[string]string{"HUBSPOT_TOKEN": "pat", "HUBSPOT_CLIENT_SECRET": "s"}, true, "HUBSPOT_STAGES is not set"},
		{map[string]string{"HUBSPOT_TOKEN": "pat", "HUBSPOT_CLIENT_SECRET": "s", "HUBSPOT_STAGES": "discovery=a,won=w,lost=l",
			"HUBSPOT_BURST_LIMIT": "0"}, true, "HUBSPOT_BURST_LIMIT must be a positive number"},
		{map[string]string{"HUBSPOT_TOKEN": "pat", "HUBSPOT_CLIENT_SECRET": "s", "HUBSPOT_STAGES": "discovery=a,won=w,lost=l"}, true, ""},
	}
	for _, c := range cases {
		for _, k := range []string{"HUBSPOT_TOKEN", "HUBSPOT_CLIENT_SECRET", "HUBSPOT_STAGES", "HUBSPOT_BURST_LIMIT", "HUBSPOT_DAILY_LIMIT", "HUBSPOT_API_URL"} {
			t.Setenv(k, c.env[k])
		}
		cfg, err := ConfigFromEnv("")
		switch {
		case cfg.On() != c.on:
			t.Errorf("%v: on %v", c.env, cfg.On())
		case c.says == "" && err != nil:
			t.Errorf("%v: %v", c.env, err)
		case c.says != "" && (err == nil || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%v: %v, want one line saying %q", c.env, err, c.says)
		}
		if c.says == "" && c.on && (cfg.APIURL != DefaultAPIURL || cfg.Burst != DefaultBurst || cfg.DailyLimit != DefaultDailyLimit) {
			t.Errorf("defaults %+v", cfg)
		}
	}
}
