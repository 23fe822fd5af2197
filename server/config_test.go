package server

import (
	"net/netip"
	"strings"
	"testing"
)

// TestUnsafeSettingsRefused: every combination that would turn a part on
// without what protects it is refused before anything starts, with one
// line naming what to set.
func TestUnsafeSettingsRefused(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef" // 32 bytes
	ok := func() Config {
		return Config{HTTPAddr: "127.0.0.1:8080", DashboardToken: secret}
	}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"client links without an address", func(c *Config) { c.ClientLinkSecret = secret + "x" }, "DEALFLOW_BASE_URL is not set"},
		{"client links over http", func(c *Config) { c.ClientLinkSecret, c.BaseURL = secret+"x", "http://dealflow.example.com" }, "need an https:// DEALFLOW_BASE_URL"},
		{"a short client link secret", func(c *Config) { c.ClientLinkSecret, c.BaseURL = "short", "https://d.example.com" }, "CLIENT_LINK_SECRET is 5 bytes; use at least 32"},
		{"Slack clicks over HTTP unverifiable", func(c *Config) { c.Slack.BotToken = "xoxb-1" }, "SLACK_BOT_TOKEN is set without SLACK_SIGNING_SECRET"},
		{"a short Slack signing secret", func(c *Config) { c.Slack = SlackConfig{BotToken: "xoxb-1", SigningSecret: "abc"} }, "SLACK_SIGNING_SECRET is 3 bytes"},
		{"a short finance token", func(c *Config) { c.FinanceToken = "dev-secret" }, "FINANCE_API_TOKEN is 10 bytes; use at least 32"},
		{"a short dashboard token", func(c *Config) { c.DashboardToken = "pages" }, "DASHBOARD_TOKEN is 5 bytes"},
		{"beyond loopback without a credential", func(c *Config) { c.HTTPAddr, c.DashboardToken = "0.0.0.0:8080", "" }, "set DASHBOARD_TOKEN, or TRUSTED_PROXIES"},
		{"every interface without a credential", func(c *Config) { c.HTTPAddr, c.DashboardToken = ":8080", "" }, "beyond loopback"},
		{"a name from anyone", func(c *Config) { c.IdentityHeader = "X-User" }, "TRUSTED_PROXIES is not"},
		{"one secret for two parts", func(c *Config) { c.FinanceToken = secret }, "DASHBOARD_TOKEN and FINANCE_API_TOKEN are the same secret"},
		{"a base URL that is no address", func(c *Config) { c.BaseURL = "dealflow.example.com" }, "DEALFLOW_BASE_URL"},
		{"an ops address that is none", func(c *Config) { c.MetricsAddr = "9090" }, "METRICS_ADDR"},
	} {
		cfg := ok()
		c.mutate(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line containing %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the message shows a secret: %v", c.name, err)
		}
	}
	// And what is safe starts: loopback with no credential at all (the
	// pages then answer 401), client links on loopback over http, Socket
	// Mode alone, people only through a proxy.
	for name, mutate := range map[string]func(*Config){
		"loopback, no credential":  func(c *Config) { c.DashboardToken = "" },
		"links on loopback":        func(c *Config) { c.ClientLinkSecret, c.BaseURL = secret+"x", "http://127.0.0.1:8080" },
		"links over https":         func(c *Config) { c.ClientLinkSecret, c.BaseURL = secret+"x", "https://dealflow.example.com" },
		"Socket Mode":              func(c *Config) { c.Slack = SlackConfig{BotToken: "xoxb-1", AppToken: "xapp-1"} },
		"people through a proxy":   func(c *Config) { c.HTTPAddr, c.DashboardToken, c.TrustedProxies = "0.0.0.0:8080", "", proxies },
		"a named identity header":  func(c *Config) { c.TrustedProxies, c.IdentityHeader = proxies, "X-Auth-Request-Email" },
		"an ops listener":          func(c *Config) { c.MetricsAddr = "0.0.0.0:9464" },
		"beyond loopback, a token": func(c *Config) { c.HTTPAddr = "0.0.0.0:8080" },
	} {
		cfg := ok()
		mutate(&cfg)
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7 2001:db8::/32")
	if err != nil || len(got) != 3 || got[1].String() != "192.0.2.7/32" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,proxy.internal"); err == nil || !strings.Contains(err.Error(), `"proxy.internal"`) {
		t.Fatalf("a host name was taken: %v", err)
	}
}
