// Package server is the worker process as a library: configuration, the
// Temporal worker, and the HTTP server (health, finance intake, Slack, deal
// pages). worker/main.go runs it; integration tests start the same thing.
package server

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

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
	// FinanceToken turns on /api/invoices; empty keeps it off.
	FinanceToken string
	// DashboardToken guards the deal pages when set.
	DashboardToken string
	// BaseURL is where people reach this worker's deal pages
	// (https://dealflow.example.com); Slack messages link there for what
	// they leave out. Empty: they only name the deal page.
	BaseURL string
	Slack   SlackConfig
	// ClientLinkSecret signs the links clients sign off through
	// (CLIENT_LINK_SECRET); empty keeps client links off.
	ClientLinkSecret string
	// ClientIPLimit and ClientTokenLimit bound requests to the public
	// client pages per IP and per link; zero takes the defaults.
	ClientIPLimit, ClientTokenLimit RateLimit
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
	c := Config{
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
