package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/workflows"
)

// TestLateCostsMoveTheFinalMargin: a supplier invoice that arrives after
// the deal closed won is taken, moves the deal's final margin in
// PostgreSQL, and its re-send is a duplicate.
func TestLateCostsMoveTheFinalMargin(t *testing.T) {
	s := startServer(t, func(c *Config) { c.FinanceToken = financeToken })
	id := "late-1"
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	send(t, s, id, dealtest.ToDelivery()...)
	send(t, s, id, dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "closed_won", "by": dealtest.GM})})
	closed, _ := stored(t, s, id)
	if closed.Stage != deal.ClosedWon {
		t.Fatalf("stage %s", closed.Stage)
	}

	late := `{"deal_id":"late-1","invoice_id":"LATE-1","category":"subcontractor","amount":"4321.09","currency":"EUR","date":"2026-12-20"}`
	ans := intakeOK(t, s, "/api/invoices", late)
	if ans.Accepted != 1 {
		t.Fatalf("a late invoice: %+v", ans)
	}
	after, st := stored(t, s, id)
	if want := closed.Margin.ActualCost.Add(decimal.RequireFromString("4321.09")); !after.Margin.ActualCost.Equal(want) || !st.Deal.Margin.ActualCost.Equal(want) {
		t.Fatalf("the final margin's actual cost is %s in PostgreSQL and %s in the workflow, want %s",
			after.Margin.ActualCost, st.Deal.Margin.ActualCost, want)
	}
	if after.Stage != deal.ClosedWon || after.MarginChecks != closed.MarginChecks+1 {
		t.Fatalf("stage %s, %d margin snapshots (was %d): the moved final margin is snapshotted once", after.Stage, after.MarginChecks, closed.MarginChecks)
	}
	if ans := intakeOK(t, s, "/api/invoices", late); ans.Duplicate != 1 {
		t.Fatalf("the late invoice re-sent: %+v", ans)
	}
}

// TestADealIDIsOneDeal: starting a deal's workflow id again after the deal
// ended (the temporal CLI's default reuse policy allows it) fails that run
// and leaves the deal's rows as they were; a start input carrying state
// is refused; an invoice for the ended deal is answered from PostgreSQL.
func TestADealIDIsOneDeal(t *testing.T) {
	s := startServer(t, func(c *Config) { c.FinanceToken = financeToken })
	ctx := context.Background()
	id := "once-1"
	terms := dealtest.Terms(id, time.Now())
	none := 0
	terms.LateCostDays = &none
	openDeal(t, s, terms)
	send(t, s, id, dealtest.Invoice("INV-1", "travel", "100", "2026-12-01"))
	send(t, s, id, dealtest.Step{Signal: deal.SigClose, Payload: dealtest.JSON(map[string]string{"outcome": "lost", "by": dealtest.AE, "reason": "budget"})})
	if err := s.Client.GetWorkflow(ctx, workflows.WorkflowID(id), "").Get(ctx, nil); err != nil {
		t.Fatalf("the lost deal did not end: %v", err)
	}
	before, err := s.Store.LoadRecord(ctx, id)
	if err != nil {
		t.Fatal(err)
	}

	// As `temporal workflow start` would, with its default reuse policy.
	run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(id), TaskQueue: s.TaskQueue(),
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE}, workflows.DealWorkflow, workflows.Input{Terms: dealtest.Terms(id, time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err == nil || !strings.Contains(err.Error(), "deal id once-1 is taken") {
		t.Fatalf("a second deal under a used id: %v", err)
	}
	after, err := s.Store.LoadRecord(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || after.Stage != deal.ClosedLost || len(after.History) != len(before.History) {
		t.Fatalf("the second run changed the deal: version %d -> %d, stage %s", before.Version, after.Version, after.Stage)
	}

	// A start input carrying a previous run's state.
	forged := workflows.Input{Terms: dealtest.Terms("forged-1", time.Now())}
	var carry workflows.Carry
	if err := json.Unmarshal([]byte(`{"deal":{"stage":"in_progress","base_stage":"in_progress"}}`), &carry); err != nil {
		t.Fatal(err)
	}
	forged.State = &carry
	run, err = s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID("forged-1"), TaskQueue: s.TaskQueue()},
		workflows.DealWorkflow, forged)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err == nil || !strings.Contains(err.Error(), "a deal starts from its terms only") {
		t.Fatalf("a forged carry: %v", err)
	}
	if _, err := s.Store.LoadRecord(ctx, "forged-1"); err == nil {
		t.Fatal("a forged carry wrote a deal")
	}

	// The ended deal answers from PostgreSQL: a repeat, or a refusal.
	ans := intakeOK(t, s, "/api/invoices", `[{"deal_id":"once-1","invoice_id":"INV-1","category":"travel","amount":"100","currency":"EUR","date":"2026-12-01","supplier":"Initech"},
		{"deal_id":"once-1","invoice_id":"INV-2","category":"travel","amount":"5","currency":"EUR","date":"2026-12-01"}]`)
	if ans.Duplicate != 1 || ans.Refused != 1 || !strings.Contains(ans.Rows[1].Reason, "no longer takes costs") {
		t.Fatalf("invoices for an ended deal: %+v", ans)
	}
}

// TestAMillionDigitAmount: an invoice whose amount has 1,000,000 digits,
// sent as a plain signal and through the update, is refused by its length
// before any arithmetic; the deal goes on answering, its ledger untouched.
func TestAMillionDigitAmount(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	id := "digits-1"
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	send(t, s, id, dealtest.ToDelivery()...)
	huge := strings.Repeat("9", 1000000)
	for _, amount := range []string{`"` + huge + `"`, huge} {
		payload := []byte(`{"invoice_id":"BIG","category":"travel","amount":` + amount + `,"currency":"EUR","date":"2026-12-01"}`)
		if err := s.Client.SignalWorkflow(ctx, workflows.WorkflowID(id), "", deal.SigInvoice, json.RawMessage(payload)); err != nil {
			t.Fatal(err)
		}
		res, err := workflows.Send(ctx, s.Client, id, deal.SigInvoice, payload)
		if err != nil || res.Status != deal.Refused {
			t.Fatalf("a million-digit amount through the update: %+v %v", res, err)
		}
	}
	send(t, s, id, dealtest.Invoice("INV-1", "travel", "100", "2026-12-01"))
	rec, st := stored(t, s, id)
	if st.Deal.Ledger.Invoices != 1 || !rec.Margin.ActualCost.Equal(decimal.RequireFromString("100")) {
		t.Fatalf("after the million-digit amounts: %d invoices, actual cost %s; want 1 and 100", st.Deal.Ledger.Invoices, rec.Margin.ActualCost)
	}
	var refused int
	for _, r := range rec.Refusals {
		if r.Signal == deal.SigInvoice {
			refused++
			if len(r.Payload) > 2100 {
				t.Errorf("a refusal keeps %d bytes of the payload", len(r.Payload))
			}
		}
	}
	if refused != 4 {
		t.Fatalf("%d invoice refusals recorded, want the 4 sent", refused)
	}
}
