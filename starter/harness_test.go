package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/devstack"
	"dealflow/server"
	"dealflow/server/servertest"
	"dealflow/workflows"
)

// The tests run starter's commands in-process against the real thing: the
// pinned Temporal dev server and a worker (server.Start) on a fresh
// PostgreSQL database, polling a task queue of its own.
var (
	temporalHostPort string
	worker           *server.Server
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx := context.Background()
	dev, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = dev.Stop() }()
	temporalHostPort = dev.FrontendHostPort()

	dbURL, drop, err := dbtest.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer drop()
	// `starter record` reads the worker's database, as it does in
	// production: here the worker's own test database.
	if err := os.Setenv("DATABASE_URL", dbURL); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	worker, err = server.Start(ctx, server.Config{
		DatabaseURL: dbURL,
		HTTPAddr:    "127.0.0.1:0",
		Temporal:    client.Options{HostPort: temporalHostPort},
		TaskQueue:   "starter-test-" + randomHex(4),
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer worker.Stop()
	return m.Run()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newDealID keeps the deals of different tests apart on the shared server.
func newDealID(prefix string) string { return prefix + "-" + randomHex(3) }

// testTarget is the worker's Temporal client and its task queue, as main
// would give them to a command.
func testTarget() *target {
	return &target{taskQueue: worker.TaskQueue(), c: worker.Client}
}

type cmdFunc func(ctx context.Context, t *target, args []string, stdout io.Writer) error

// record runs `starter record`, which reads PostgreSQL, not Temporal.
func record(ctx context.Context, _ *target, args []string, stdout io.Writer) error {
	return runRecord(ctx, args, stdout)
}

// stored waits until PostgreSQL holds everything the deal's workflow has
// done (what `starter record` reads) and returns the deal read back from
// there with the workflow's status (see servertest.Stored).
func stored(t *testing.T, dealID string) (*deal.Record, *workflows.Status) {
	t.Helper()
	return servertest.Stored(t, worker.Client, worker.Store, dealID)
}

// cmd runs one command in-process and returns what it printed and its error.
func cmd(t *testing.T, fn cmdFunc, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := fn(context.Background(), testTarget(), args, &out)
	return out.String(), err
}

// mustAnswer runs a signal command and fails the test unless the deal
// answered want (accepted, or duplicate (already recorded)).
func mustAnswer(t *testing.T, want string, fn cmdFunc, args ...string) {
	t.Helper()
	out, err := cmd(t, fn, args...)
	if err != nil || strings.TrimSpace(out) != want {
		t.Fatalf("%v: printed %q, error %v; want %q", args, out, err, want)
	}
}

// writeFile writes a test input file and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// termsJSON is a deal's terms file as a person would write it: 100,000 EUR
// at a 30% target margin, planned over 100 days from today, with the
// scoping ticket needing the client's sign-off.
func termsJSON(dealID, client string) string {
	start := time.Now()
	return fmt.Sprintf(`{
  "deal_id": %q,
  "client": %q,
  "workstream": "Data platform",
  "currency": "EUR",
  "contract_value": "100000",
  "target_margin_pct": "30",
  "start_date": %q,
  "end_date": %q,
  "people": {"ae": "U_AE", "presales": "U_PRESALES", "pricing_approver": "U_PRICING", "pm": "U_PM", "gm": "U_GM"},
  "client_signoff": ["scoping"],
  "slack_channel": "C_DEALS"
}`, dealID, client, start.Format("2006-01-02"), start.AddDate(0, 0, 100).Format("2006-01-02"))
}

// openDeal opens a deal through `starter open`.
func openDeal(t *testing.T, dealID, client string) {
	t.Helper()
	out, err := cmd(t, runOpen, writeFile(t, "terms.json", termsJSON(dealID, client)))
	if err != nil {
		t.Fatalf("open %s: %v", dealID, err)
	}
	if want := "workflow deal-" + dealID; !strings.Contains(out, want) {
		t.Fatalf("open printed %q, want it to name %q", out, want)
	}
}
