package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"go.temporal.io/sdk/client"

	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/devstack"
	"dealflow/server/servertest"
	"dealflow/workflows"
)

// temporalHostPort is the dev server every test of this package shares.
var temporalHostPort string

func TestMain(m *testing.M) {
	// Fuzzing needs no Temporal: the targets are parsers, and every fuzz
	// worker process runs TestMain too.
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	ctx := context.Background()
	srv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	temporalHostPort = srv.FrontendHostPort()
	code := m.Run()
	_ = srv.Stop()
	os.Exit(code)
}

// testDashboardToken is every test server's dashboard token unless the
// test sets its own: the pages are never open, so tests sign in like a
// script does (get sends it).
const testDashboardToken = "dashboard-test-token-0123456789abcdef"

// startServer runs a worker process like production does, against the
// shared dev server, with a database and a task queue of its own.
func startServer(t *testing.T, mutate func(*Config)) *Server {
	t.Helper()
	ctx := context.Background()
	dbURL, drop, err := dbtest.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	cfg := Config{
		DatabaseURL: dbURL,
		HTTPAddr:    "127.0.0.1:0",
		Temporal:    client.Options{HostPort: temporalHostPort},
		TaskQueue:   "deals-test-" + hex.EncodeToString(b),
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Tests send many requests from one address; TestRateLimits
		// checks the default limits themselves.
		DashboardToken: testDashboardToken,
		PageLimit:      RateLimit{PerMinute: 60000, Burst: 10000},
		FinanceLimit:   RateLimit{PerMinute: 60000, Burst: 10000},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// openDeal starts a test deal on the server's task queue.
func openDeal(t *testing.T, s *Server, terms deal.Terms) {
	t.Helper()
	if _, err := workflows.OpenDeal(context.Background(), s.Client, s.TaskQueue(), workflows.Input{Terms: terms}); err != nil {
		t.Fatal(err)
	}
}

// send applies steps and fails the test unless each is accepted.
func send(t *testing.T, s *Server, dealID string, steps ...dealtest.Step) {
	t.Helper()
	for _, st := range steps {
		res, err := workflows.Send(context.Background(), s.Client, dealID, st.Signal, st.Payload)
		if err != nil {
			t.Fatalf("%s %s: %v", st.Signal, st.Payload, err)
		}
		if res.Status != deal.Accepted {
			t.Fatalf("%s %s: %s %s", st.Signal, st.Payload, res.Status, res.Reason)
		}
	}
}

// stored waits until PostgreSQL holds everything the deal's workflow has
// done and returns the deal read back from there with the workflow's
// status (see servertest.Stored).
func stored(t *testing.T, s *Server, dealID string) (*deal.Record, *workflows.Status) {
	t.Helper()
	return servertest.Stored(t, s.Client, s.Store, dealID)
}
