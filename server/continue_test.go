package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/workflows"
)

// TestContinueAsNewUnderLoad sends signals concurrently to a deal whose runs
// continue-as-new every 60 events, on the real dev server: none is lost,
// none counts twice, and the deal did move to new runs.
func TestContinueAsNewUnderLoad(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	id := "can-" + s.TaskQueue()
	run, err := workflows.OpenDeal(ctx, s.Client, s.TaskQueue(), workflows.Input{Terms: dealtest.Terms(id, time.Now()), ContinueAfterEvents: 60})
	if err != nil {
		t.Fatal(err)
	}
	const n = 80
	payload := func(i int) json.RawMessage {
		return dealtest.JSON(map[string]string{"id": fmt.Sprintf("c%03d", i), "kind": "deliverable", "text": fmt.Sprintf("promise %d", i), "by": dealtest.AE})
	}
	var wg sync.WaitGroup
	errs := make(chan error, n+20)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every worker sends its share, and re-sends a few already sent.
			for i := w; i < n; i += 8 {
				errs <- s.Client.SignalWorkflow(ctx, workflows.WorkflowID(id), "", deal.SigCommitment, payload(i))
				if i%10 == 0 {
					errs <- s.Client.SignalWorkflow(ctx, workflows.WorkflowID(id), "", deal.SigCommitment, payload(i))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The workflow keeps each commitment's id (and a digest of it): enough
	// to count them, and to tell a re-send from a new one.
	var st *workflows.Status
	dealtest.Eventually(t, "every commitment to be recorded", func() bool {
		st, err = workflows.Record(ctx, s.Client, id)
		return err == nil && len(st.Deal.Commitments) >= n
	})
	if len(st.Deal.Commitments) != n || st.Deal.Refusals != 0 {
		t.Fatalf("%d commitments and %d refusals, want %d and none", len(st.Deal.Commitments), st.Deal.Refusals, n)
	}
	dealtest.Eventually(t, "the deal to continue as new", func() bool {
		desc, err := s.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(id), "")
		return err == nil && desc.WorkflowExecutionInfo.Execution.RunId != run.GetRunID()
	})
	if st, err = workflows.Record(ctx, s.Client, id); err != nil || len(st.Deal.Commitments) != n {
		t.Fatalf("after continue-as-new: %v, %d commitments", err, len(st.Deal.Commitments))
	}
	// PostgreSQL caught up with the latest run: every commitment, once,
	// and nothing else differing from the workflow's state.
	rec, _ := stored(t, s, id)
	seen := map[string]bool{}
	for _, c := range rec.Commitments {
		seen[c.ID] = true
	}
	if len(rec.Commitments) != n || len(seen) != n || len(rec.Refusals) != 0 {
		t.Fatalf("PostgreSQL holds %d commitments (%d ids) and %d refusals, want %d and none", len(rec.Commitments), len(seen), len(rec.Refusals), n)
	}
}
