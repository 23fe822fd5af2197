// Package server is the worker process as a library: configuration, the
// Temporal worker, and the HTTP server (health, finance intake, Slack, deal
// pages). worker/main.go runs it; integration tests start the same thing.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"dealflow/clientlink"
	"dealflow/hubspot"
	"dealflow/workflows"
)

// Config is everything the worker reads from its environment. Secrets are
// held here and never logged.
type Config struct {
	DatabaseURL string
	HTTPAddr    string
	Temporal    client.Options
	// TaskQueue is "deals"; tests give each server its own.
	TaskQueue string
	// MetricsAddr is the internal operations listener (METRICS_ADDR):
	// /metrics and the detailed /readyz, open to whoever reaches it. Empty:
	// both are on HTTP_ADDR, behind the dashboard's credentials.
	MetricsAddr string
	// FinanceToken turns on /api/invoices; empty keeps it off.
	FinanceToken string
	// DashboardToken is the deal pages' credential for scripts (and the
	// session the sign-in link opens). The pages always need a credential:
	// this token or a person named by a trusted proxy.
	DashboardToken string
	// TrustedProxies are the reverse proxies (TRUSTED_PROXIES, CIDRs)
	// whose X-Forwarded-For, Forwarded and identity header are believed.
	TrustedProxies []netip.Prefix
	// IdentityHeader names the person a trusted proxy signed in
	// (IDENTITY_HEADER, default X-Forwarded-Email as oauth2-proxy sets it).
	IdentityHeader string
	// BaseURL is where people reach this worker's deal pages
	// (https://dealflow.example.com); Slack messages link there for what
	// they leave out. Empty: they only name the deal page.
	BaseURL string
	Slack   SlackConfig
	// ClientLinkSecret signs the links clients sign off through
	// (CLIENT_LINK_SECRET); empty keeps client links off.
	ClientLinkSecret string
	// ClientIPLimit and ClientTokenLimit bound requests to the public
	// client pages per IP and per link; PageLimit and FinanceLimit the
	// deal pages and finance intake per client; AuthFailLimit the failed
	// authentications per client. Zero takes the defaults (ratelimit.go).
	ClientIPLimit, ClientTokenLimit        RateLimit
	PageLimit, FinanceLimit, AuthFailLimit RateLimit
	// WorkflowCache is how many deal workflows the worker keeps in memory
	// between their workflow tasks (DEALFLOW_WORKFLOW_CACHE); one not kept
	// is replayed from its history (a few thousand events at most) when it
	// wakes. Zero keeps the SDK's default (10,000).
	WorkflowCache int
	// HubSpot turns the HubSpot bridge on (HUBSPOT_TOKEN and
	// HUBSPOT_CLIENT_SECRET, docs/hubspot.md); HubSpotPollEvery is how often
	// it looks for changed deals (tests shorten it; zero: a second).
	HubSpot          hubspot.Config
	HubSpotPollEvery time.Duration
	Log              *slog.Logger
}

type SlackConfig struct {
	BotToken      string
	SigningSecret string
	AppToken      string
	APIURL        string
}

const (
	DefaultHTTPAddr = "127.0.0.1:8080"
	// DefaultWorkflowCache keeps a worker with 10,000 open deals under 1 GiB
	// (make bench DEALS=10000).
	DefaultWorkflowCache = 2000
	DefaultDatabaseURL   = "postgres://postgres@127.0.0.1:5432/dealflow?sslmode=disable"
	// DefaultIdentityHeader is what oauth2-proxy sets.
	DefaultIdentityHeader = "X-Forwarded-Email"
	// MinSecret is the shortest token or secret taken: 32 bytes, as
	// `openssl rand -hex 32` gives twice over.
	MinSecret = 32
)

// ConfigFromEnv reads the environment. Temporal's connection follows the
// SDK's envconfig conventions (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TLS variables, or a profile file).
func ConfigFromEnv() (Config, error) {
	topts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return Config{}, fmt.Errorf("temporal client configuration: %w", err)
	}
	cache, err := strconv.Atoi(getenv("DEALFLOW_WORKFLOW_CACHE", strconv.Itoa(DefaultWorkflowCache)))
	if err != nil || cache < 1 {
		return Config{}, fmt.Errorf("DEALFLOW_WORKFLOW_CACHE must be a positive number of workflows, not %q", os.Getenv("DEALFLOW_WORKFLOW_CACHE"))
	}
	proxies, err := ParseTrustedProxies(os.Getenv("TRUSTED_PROXIES"))
	if err != nil {
		return Config{}, err
	}
	c := Config{
		TrustedProxies:   proxies,
		IdentityHeader:   os.Getenv("IDENTITY_HEADER"),
		MetricsAddr:      os.Getenv("METRICS_ADDR"),
		WorkflowCache:    cache,
		DatabaseURL:      getenv("DATABASE_URL", DefaultDatabaseURL),
		HTTPAddr:         getenv("HTTP_ADDR", DefaultHTTPAddr),
		Temporal:         topts,
		TaskQueue:        workflows.TaskQueue,
		FinanceToken:     os.Getenv("FINANCE_API_TOKEN"),
		DashboardToken:   os.Getenv("DASHBOARD_TOKEN"),
		BaseURL:          os.Getenv("DEALFLOW_BASE_URL"),
		ClientLinkSecret: os.Getenv("CLIENT_LINK_SECRET"),
		Slack: SlackConfig{
			BotToken:      os.Getenv("SLACK_BOT_TOKEN"),
			SigningSecret: os.Getenv("SLACK_SIGNING_SECRET"),
			AppToken:      os.Getenv("SLACK_APP_TOKEN"),
			APIURL:        os.Getenv("SLACK_API_URL"),
		},
	}
	if c.HubSpot, err = hubspot.ConfigFromEnv(c.BaseURL); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ParseTrustedProxies reads TRUSTED_PROXIES: CIDRs or single addresses,
// separated by commas or spaces.
func ParseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("TRUSTED_PROXIES: %q is neither a CIDR (10.0.0.0/8) nor an address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Validate refuses a configuration that would turn a part on without what
// protects it. Each refusal is one line naming what to set; Start calls it
// before anything else, so the worker never runs half-protected.
func (c Config) Validate() error {
	secrets := []struct{ name, value string }{
		{"DASHBOARD_TOKEN", c.DashboardToken},
		{"FINANCE_API_TOKEN", c.FinanceToken},
		{"CLIENT_LINK_SECRET", c.ClientLinkSecret},
		{"SLACK_SIGNING_SECRET", c.Slack.SigningSecret},
	}
	for _, s := range secrets {
		if n := len(s.value); n > 0 && n < MinSecret {
			return fmt.Errorf("%s is %d bytes; use at least %d random ones (openssl rand -hex 32)", s.name, n, MinSecret)
		}
	}
	for i, a := range secrets {
		for _, b := range secrets[i+1:] {
			if a.value != "" && a.value == b.value {
				return fmt.Errorf("%s and %s are the same secret; give each its own (openssl rand -hex 32)", a.name, b.name)
			}
		}
	}
	if !isLoopback(c.HTTPAddr) && c.DashboardToken == "" && len(c.TrustedProxies) == 0 {
		return fmt.Errorf("HTTP_ADDR %s is beyond loopback and the deal pages have no credential: set DASHBOARD_TOKEN, or TRUSTED_PROXIES for your SSO proxy", c.HTTPAddr)
	}
	if c.IdentityHeader != "" && len(c.TrustedProxies) == 0 {
		return errors.New("IDENTITY_HEADER is set but TRUSTED_PROXIES is not: set the proxies' addresses, or anyone could claim a name")
	}
	if c.IdentityHeader != "" && !validHeaderName(c.IdentityHeader) {
		return fmt.Errorf("IDENTITY_HEADER %q is not a header name", c.IdentityHeader)
	}
	if c.BaseURL != "" {
		if err := checkBaseURL(c.BaseURL); err != nil {
			return err
		}
	}
	if c.ClientLinkSecret != "" {
		if err := clientlink.CheckBaseURL(c.BaseURL); err != nil {
			return err
		}
	}
	if c.Slack.BotToken != "" && c.Slack.SigningSecret == "" && c.Slack.AppToken == "" {
		return errors.New("SLACK_BOT_TOKEN is set without SLACK_SIGNING_SECRET (clicks over HTTP) or SLACK_APP_TOKEN (Socket Mode): set one, or clicks cannot be verified")
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("METRICS_ADDR %q is not host:port (127.0.0.1:9090)", c.MetricsAddr)
		}
	}
	return nil
}

// checkBaseURL wants an absolute http(s) URL with a host and nothing after
// the path: links and Slack messages are built on it.
func checkBaseURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("DEALFLOW_BASE_URL %q is not an address such as https://dealflow.example.com", v)
	}
	return nil
}

func validHeaderName(h string) bool {
	for _, r := range h {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return h != ""
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// TemporalAddress is where the client will dial, for messages.
func (c Config) TemporalAddress() string {
	if c.Temporal.HostPort != "" {
		return c.Temporal.HostPort
	}
	return client.DefaultHostPort
}
