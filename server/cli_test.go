package server

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/devstack"
	"dealflow/workflows"
)

// TestByHandWithTheTemporalCLI is the README's "by hand" flow: a deal
// opened, signalled and read with the pinned temporal CLI alone, bad input
// included, and the same record in PostgreSQL.
func TestByHandWithTheTemporalCLI(t *testing.T) {
	s := startServer(t, nil)
	bin, err := devstack.TemporalCLI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id := "cli-" + s.TaskQueue()
	terms := dealtest.Terms(id, time.Now())
	file := filepath.Join(t.TempDir(), "deal.json")
	if err := os.WriteFile(file, dealtest.JSON(terms), 0o644); err != nil {
		t.Fatal(err)
	}
	wid := workflows.WorkflowID(id)
	temporalCLI(t, bin, "workflow", "start", "--type", "DealWorkflow", "--task-queue", s.TaskQueue(),
		"--workflow-id", wid, "--id-conflict-policy", "Fail", "--input-file", file)
	for _, st := range dealtest.ToClosing()[:2] {
		temporalCLI(t, bin, "workflow", "signal", "--workflow-id", wid, "--name", st.Signal, "--input", string(st.Payload))
	}
	// A malformed decimal, as a person would mistype it.
	temporalCLI(t, bin, "workflow", "signal", "--workflow-id", wid, "--name", deal.SigInvoice,
		"--input", `{"invoice_id":"X","category":"travel","amount":"12.x","currency":"EUR","date":"2026-01-01"}`)
	// The update answers at once.
	out := temporalCLI(t, bin, "workflow", "update", "execute", "--workflow-id", wid, "--name", workflows.UpdateSignal,
		"--input", `{"signal":"signoff","payload":{"ticket":"scoping","by":"U_AE","side":"internal","decision":"approve","deliverable":{"body":"x"}}}`)
	if !strings.Contains(out, "refused") || !strings.Contains(out, "only the ticket owner U_PRESALES") {
		t.Fatalf("update answered %s", out)
	}

	var rec deal.Record
	dealtest.Eventually(t, "both refusals to be recorded", func() bool {
		out := temporalCLI(t, bin, "workflow", "query", "--workflow-id", wid, "--type", workflows.QueryRecord, "-o", "json")
		var q struct {
			QueryResult []deal.Record `json:"queryResult"`
		}
		if json.Unmarshal([]byte(out), &q) != nil || len(q.QueryResult) != 1 {
			return false
		}
		rec = q.QueryResult[0]
		return len(rec.Refusals) == 2
	})
	if rec.Stage != deal.Scoping || len(rec.Commitments) != 1 || !strings.Contains(rec.Refusals[0].Reason, "can't convert 12.x to decimal") {
		t.Fatalf("stage %s, %d commitments, refusals %+v", rec.Stage, len(rec.Commitments), rec.Refusals)
	}
	dealtest.Eventually(t, "PostgreSQL to hold the same record", func() bool {
		stored, err := s.Store.LoadRecord(context.Background(), id)
		return err == nil && stored.Version == rec.Version && len(stored.Refusals) == 2 && stored.Stage == deal.Scoping
	})
}
