package activities

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// TestSaveRowsLogsAStaleState: a state older than the stored one is dropped,
// and the activity says so with the deal and both versions, once.
func TestSaveRowsLogsAStaleState(t *testing.T) {
	store := dbtest.Store(t)
	at := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	d, err := dealtest.Open(dealtest.Terms("d-stale", at), at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ClaimDeal(context.Background(), d.State, "run-d-stale"); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	a := &Activities{Store: store, Log: slog.New(slog.NewTextHandler(&log, nil))}
	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivity(a)
	save := func(version int64) {
		t.Helper()
		sum := d.State.Summary()
		sum.Version = version
		if _, err := aenv.ExecuteActivity(a.SaveRows, SaveRequest{State: sum, Rows: deal.Rows{}}); err != nil {
			t.Fatal(err)
		}
	}
	v := d.State.Version
	save(v + 2)
	save(v + 2) // the same version again is a retry, not a stale write
	if log.Len() != 0 {
		t.Fatalf("a current state was logged as stale:\n%s", log.String())
	}
	save(v + 1)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	want := []string{"stale deal state dropped", "deal_id=d-stale", fmt.Sprintf("stored_version=%d", v+2), fmt.Sprintf("dropped_version=%d", v+1)}
	if len(lines) != 1 {
		t.Fatalf("want one line, got:\n%s", log.String())
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("the log line lacks %q: %s", w, lines[0])
		}
	}
}
