package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

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

// TestPlainClientUpdatesNeverBounce sends 2,500 updates with the plain SDK
// client (no project helper, so nothing re-sends for it) to one deal: the
// first ones right after the start, while the deal opens, and the rest
// across several continue-as-new hand-overs. Every one gets its real
// answer; none gets an error.
func TestPlainClientUpdatesNeverBounce(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	ctx := context.Background()
	id := "bounce-" + s.TaskQueue()
	run, err := workflows.OpenDeal(ctx, s.Client, s.TaskQueue(), workflows.Input{Terms: dealtest.Terms(id, time.Now()), ContinueAfterEvents: 600})
	if err != nil {
		t.Fatal(err)
	}
	const n, senders = 2500, 8
	date := time.Now().Format("2006-01-02")
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := 0; w < senders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += senders {
				req := workflows.SignalRequest{Signal: deal.SigInvoice,
					Payload: dealtest.Invoice(fmt.Sprintf("INV-%04d", i), "travel", "10", date).Payload}
				h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.WorkflowID(id),
					UpdateName: workflows.UpdateSignal, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted})
				var res deal.Result
				if err == nil {
					err = h.Get(ctx, &res)
				}
				if err == nil && res.Status != deal.Accepted {
					err = fmt.Errorf("invoice %d answered %+v", i, res)
				}
				if err != nil {
					errs <- fmt.Errorf("update %d: %w", i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 5 {
			t.Error(err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d updates failed", failed, n)
	}
	st, err := workflows.Record(ctx, s.Client, id)
	if err != nil || st.Deal.Ledger.Invoices != n {
		t.Fatalf("the deal holds %v invoices (%v), want %d", st.Deal.Ledger.Invoices, err, n)
	}
	// At least 3 hand-overs: the chain's runs, as visibility lists them.
	runs := 0
	dealtest.Eventually(t, "the runs to be listed", func() bool {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = %q", workflows.WorkflowID(id))})
		if err != nil {
			return false
		}
		runs = len(resp.Executions)
		return runs >= 4
	})
	if runs < 4 {
		t.Fatalf("%d runs after %d updates (first run %s), want at least 4", runs, n, run.GetRunID())
	}
}

// TestSameKeyAppliesOnce delivers one click three times: at once (Slack's
// retry), after the deal moved to a new run, and through another worker
// process. The click opened an incident that was resolved in between, so
// applying it again would re-open it: it applies once, and every delivery
// gets the first answer.
func TestSameKeyAppliesOnce(t *testing.T) {
	var dbURL string
	s := startServer(t, func(c *Config) { dbURL = c.DatabaseURL })
	ctx := context.Background()
	id := "key-" + s.TaskQueue()
	run, err := workflows.OpenDeal(ctx, s.Client, s.TaskQueue(), workflows.Input{Terms: dealtest.Terms(id, time.Now()), ContinueAfterEvents: 60})
	if err != nil {
		t.Fatal(err)
	}
	send := func(payload []byte) deal.Result {
		t.Helper()
		res, err := workflows.SendOnce(ctx, s.Client, s.Store, id, deal.SigIncident, payload)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, st := range dealtest.ToDelivery() {
		if res, err := workflows.Send(ctx, s.Client, id, st.Signal, st.Payload); err != nil || res.Status != deal.Accepted {
			t.Fatalf("%s: %+v %v", st.Signal, res, err)
		}
	}
	click := dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "major", "status": "open", "title": "slow", "key": "slack-click-open-I1"})
	resolve := dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "major", "status": "resolved", "key": "slack-click-resolve-I1"})
	if res := send(click); res.Status != deal.Accepted {
		t.Fatalf("first delivery: %+v", res)
	}
	if res := send(click); res.Status != deal.Accepted {
		t.Fatalf("Slack's retry got %+v, want the first answer", res)
	}
	if res := send(resolve); res.Status != deal.Accepted {
		t.Fatalf("resolve: %+v", res)
	}
	// Move the deal to a new run: every progress report is a few events,
	// and the run continues at 60.
	for i := 0; ; i++ {
		desc, err := s.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(id), "")
		if err != nil {
			t.Fatal(err)
		}
		if desc.WorkflowExecutionInfo.Execution.RunId != run.GetRunID() {
			break
		}
		if i > 200 {
			t.Fatal("the deal did not continue as new")
		}
		if _, err := workflows.Send(ctx, s.Client, id, deal.SigProgress, dealtest.Progress(fmt.Sprintf("%d", 10+i%80)).Payload); err != nil {
			t.Fatal(err)
		}
	}
	if res := send(click); res.Status != deal.Accepted {
		t.Fatalf("after continue-as-new the click got %+v, want the first answer", res)
	}
	// A second worker process on the same database and task queue, as
	// after a restart: it knows the key from PostgreSQL.
	s2 := startServer(t, func(c *Config) { c.DatabaseURL, c.TaskQueue = dbURL, s.TaskQueue() })
	if res, err := workflows.SendOnce(ctx, s2.Client, s2.Store, id, deal.SigIncident, click); err != nil || res.Status != deal.Accepted {
		t.Fatalf("after the worker restart the click got %+v %v, want the first answer", res, err)
	}
	// The same click without the PostgreSQL look-up reaches the deal's own window.
	if res, err := workflows.Send(ctx, s2.Client, id, deal.SigIncident, click); err != nil || res.Status != deal.Accepted {
		t.Fatalf("the click sent straight to the deal got %+v %v, want the first answer", res, err)
	}
	st, err := workflows.Record(ctx, s2.Client, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Deal.Incidents) != 1 || st.Deal.Incidents[0].Status != "resolved" {
		t.Fatalf("incidents %+v: the click applied again", st.Deal.Incidents)
	}
}
