// Package hubspot is the bridge between dealflow and HubSpot
// (docs/hubspot.md): HubSpot deals open dealflow deals and close them
// through the AE's move to won, and dealflow's state is mirrored back onto
// the HubSpot deal. dealflow stays the system of record: HubSpot starts
// deals and shows them.
//
// The parts, one file each: the API client (client.go), the webhook and its
// v3 signature (webhook.go), the events applied to deals (apply.go), the
// mirror (mirror.go), the runner that holds the one lock per firm
// (bridge.go) and `starter hubspot setup` (setup.go).
package hubspot

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"dealflow/deal"
)

// DefaultAPIURL is HubSpot's API.
const DefaultAPIURL = "https://api.hubapi.com"

// HubSpot's documented limits for a private app (Free and Starter; higher
// tiers allow more, which HUBSPOT_BURST_LIMIT and HUBSPOT_DAILY_LIMIT say).
const (
	DefaultBurst      = 100
	DefaultBurstEvery = 10 * time.Second
	DefaultDailyLimit = 250_000
	// MaxBatch is the most inputs one batch call takes.
	MaxBatch = 100
	// MaxEventsPerCall is the most events one webhook call carries.
	MaxEventsPerCall = 100
)

// Config turns the bridge on. It is off while Token is empty.
type Config struct {
	// Token is the private app's access token (HUBSPOT_TOKEN).
	Token string
	// ClientSecret keys the webhook signatures (HUBSPOT_CLIENT_SECRET).
	ClientSecret string
	// APIURL is HubSpot's API (HUBSPOT_API_URL), another for tests.
	APIURL string
	// BaseURL is where HubSpot reaches this worker (DEALFLOW_BASE_URL):
	// behind a proxy the signed URI is built from it. It also makes
	// dealflow_url a link.
	BaseURL string
	Stages  Stages
	// Burst requests per BurstEvery, and DailyLimit a day (HubSpot's day
	// ends at midnight UTC here, the earliest of its time zones' ends
	// counting conservatively).
	Burst      int
	BurstEvery time.Duration
	DailyLimit int
}

// On is true when the bridge is configured.
func (c Config) On() bool { return c.Token != "" || c.ClientSecret != "" }

// ConfigFromEnv reads the HUBSPOT_ variables. Both the token and the secret
// are needed together: one without the other is an error naming the other.
func ConfigFromEnv(baseURL string) (Config, error) {
	c := Config{Token: os.Getenv("HUBSPOT_TOKEN"), ClientSecret: os.Getenv("HUBSPOT_CLIENT_SECRET"),
		APIURL: os.Getenv("HUBSPOT_API_URL"), BaseURL: baseURL}
	if !c.On() {
		return c, nil
	}
	var err error
	if c.Stages, err = ParseStages(os.Getenv("HUBSPOT_STAGES")); err != nil {
		return c, err
	}
	if c.Burst, err = positive("HUBSPOT_BURST_LIMIT", DefaultBurst); err != nil {
		return c, err
	}
	if c.DailyLimit, err = positive("HUBSPOT_DAILY_LIMIT", DefaultDailyLimit); err != nil {
		return c, err
	}
	return c, c.Check()
}

func positive(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s must be a positive number, not %q", name, v)
	}
	return n, nil
}

// Check refuses a bridge turned on without its protection or its map, in
// one line saying what to set.
func (c *Config) Check() error {
	switch {
	case c.Token == "":
		return fmt.Errorf("HUBSPOT_CLIENT_SECRET is set but HUBSPOT_TOKEN is not: set the private app's access token, or unset both to keep HubSpot off")
	case c.ClientSecret == "":
		return fmt.Errorf("HUBSPOT_TOKEN is set but HUBSPOT_CLIENT_SECRET is not: the webhook cannot be verified without it; set the app's client secret")
	case c.Stages.hubspot == nil:
		return fmt.Errorf("HUBSPOT_STAGES is not set: map the pipeline's stage ids, e.g. discovery=appt,won=closedwon,lost=closedlost")
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.BurstEvery == 0 {
		c.BurstEvery = DefaultBurstEvery
	}
	if c.DailyLimit == 0 {
		c.DailyLimit = DefaultDailyLimit
	}
	return nil
}

// Stages maps HubSpot's pipeline stage ids to dealflow's presale stages and
// the two outcomes (HUBSPOT_STAGES).
type Stages struct {
	hubspot map[string]string // dealflow key -> HubSpot stage id
	keys    map[string]string // HubSpot stage id -> dealflow key
}

// StageKeys are what HUBSPOT_STAGES may map, in the pipeline's order.
var StageKeys = []string{"discovery", "scoping", "proposal", "pricing", "closing", "won", "lost"}

var requiredStages = []string{"discovery", "won", "lost"}

// ParseStages reads "discovery=appt,won=closedwon,lost=closedlost,...".
func ParseStages(s string) (Stages, error) {
	st := Stages{hubspot: map[string]string{}, keys: map[string]string{}}
	if strings.TrimSpace(s) == "" {
		return Stages{}, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || v == "":
			return Stages{}, fmt.Errorf("HUBSPOT_STAGES: %q is not key=stageid", part)
		case !slices.Contains(StageKeys, k):
			return Stages{}, fmt.Errorf("HUBSPOT_STAGES: %q is not one of %s", k, strings.Join(StageKeys, ", "))
		case st.hubspot[k] != "":
			return Stages{}, fmt.Errorf("HUBSPOT_STAGES maps %s twice", k)
		case st.keys[v] != "":
			return Stages{}, fmt.Errorf("HUBSPOT_STAGES maps HubSpot stage %s to both %s and %s", v, st.keys[v], k)
		}
		st.hubspot[k], st.keys[v] = v, k
	}
	for _, k := range requiredStages {
		if st.hubspot[k] == "" {
			return Stages{}, fmt.Errorf("HUBSPOT_STAGES must map %s (discovery, won and lost are required)", k)
		}
	}
	return st, nil
}

// ID is the HubSpot stage id a key maps to, or "".
func (s Stages) ID(key string) string { return s.hubspot[key] }

// Key is the dealflow key of a HubSpot stage id, or "" for one not mapped.
func (s Stages) Key(id string) string { return s.keys[id] }

// IDs lists the mapped HubSpot stage ids, in the pipeline's order.
func (s Stages) IDs() []string {
	var out []string
	for _, k := range StageKeys {
		if id := s.hubspot[k]; id != "" {
			out = append(out, id)
		}
	}
	return out
}

// For is the pipeline stage that shows a dealflow stage: a presale stage
// as itself (or the nearest mapped stage before it), every stage after the
// AE's close as won, a lost deal as lost.
func (s Stages) For(st deal.Stage) string {
	switch st {
	case deal.ClosedLost:
		return s.hubspot["lost"]
	case deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing:
		i := slices.Index(StageKeys, string(st))
		for ; i > 0 && s.hubspot[StageKeys[i]] == ""; i-- {
		}
		return s.hubspot[StageKeys[i]]
	}
	return s.hubspot["won"]
}
