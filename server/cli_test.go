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

	// The query answers the deal's process state; the lists (the
	// refusals' reasons among them) are in PostgreSQL.
	var st workflows.Status
	dealtest.Eventually(t, "both refusals to be counted", func() bool {
		out := temporalCLI(t, bin, "workflow", "query", "--workflow-id", wid, "--type", workflows.QueryRecord, "-o", "json")
		var q struct {
			QueryResult []workflows.Status `json:"queryResult"`
		}
		if json.Unmarshal([]byte(out), &q) != nil || len(q.QueryResult) != 1 {
			return false
		}
		st = q.QueryResult[0]
		return st.Deal.Refusals == 2
	})
	if st.Deal.Stage != deal.Scoping || len(st.Deal.Commitments) != 1 {
		t.Fatalf("stage %s, %d commitments, %d refusals", st.Deal.Stage, len(st.Deal.Commitments), st.Deal.Refusals)
	}
	rec, _ := stored(t, s, id)
	if rec.Stage != deal.Scoping || len(rec.Commitments) != 1 || len(rec.Refusals) != 2 || !strings.Contains(rec.Refusals[0].Reason, `amount "12.x" is not a decimal`) ||
		!strings.Contains(rec.Refusals[1].Reason, "only the ticket owner U_PRESALES") {
		t.Fatalf("PostgreSQL: stage %s, %d commitments, refusals %+v", rec.Stage, len(rec.Commitments), rec.Refusals)
	}
}
