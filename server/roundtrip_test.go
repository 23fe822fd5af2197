package server

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/workflows"
)

// TestDealRoundTrip drives one deal from discovery to closed_won through the
// real dev server and checks that PostgreSQL holds the deal the workflow
// holds, to the cent.
func TestDealRoundTrip(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	id := "rt-" + s.TaskQueue()
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	send(t, s, id, dealtest.ToDelivery()...)
	send(t, s, id,
		dealtest.Progress("25"),
		dealtest.Invoice("INV-1", "subcontractor", "12000.50", time.Now().Format("2006-01-02")),
		dealtest.Step{Signal: deal.SigInvoice, Payload: dealtest.JSON(map[string]any{"invoice_id": "INV-2", "category": "license",
			"amount": "1000", "currency": "USD", "fx_rate": "0.9123", "date": "2026-01-10"})},
		dealtest.Step{Signal: deal.SigFee, Payload: dealtest.JSON(map[string]string{"fee_id": "F1", "kind": "invoiced", "amount": "40000", "currency": "EUR", "date": "2026-01-31"})},
		dealtest.Step{Signal: deal.SigFee, Payload: dealtest.JSON(map[string]string{"fee_id": "F2", "kind": "collected", "amount": "25000", "currency": "EUR", "date": "2026-02-15"})},
		dealtest.Step{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "critical", "status": "open", "title": "Data loss in staging"})},
	)
	// A payload that does not decode, sent as a plain signal the way the
	// temporal CLI would: refused and recorded, and the deal goes on.
	bad := json.RawMessage(`{"invoice_id":"INV-X","category":"travel","amount":"12.x","currency":"EUR","date":"2026-01-01"}`)
	if err := s.Client.SignalWorkflow(ctx, workflows.WorkflowID(id), "", deal.SigInvoice, bad); err != nil {
		t.Fatal(err)
	}
	dealtest.Eventually(t, "the bad invoice to be refused", func() bool {
		st, err := workflows.Record(ctx, s.Client, id)
		return err == nil && st.Deal.Refusals == 1
	})
	st, err := workflows.Record(ctx, s.Client, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Deal.Stage != deal.Mitigation {
		t.Fatalf("stage with an open critical incident = %s, want mitigation", st.Deal.Stage)
	}
	send(t, s, id,
		dealtest.Step{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "critical", "status": "resolved"})},
		dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "maintenance", "by": dealtest.PM})},
		dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "closed_won", "by": dealtest.GM})},
	)

	// A deal that ended still takes its late costs (supplier invoices come
	// after the project closes), so its workflow keeps running; a re-sent
	// late invoice is a repeat.
	late := dealtest.Invoice("INV-LATE", "travel", "87.20", time.Now().Format("2006-01-02"))
	send(t, s, id, late)
	if res, err := workflows.Send(ctx, s.Client, id, late.Signal, late.Payload); err != nil || res.Status != deal.Duplicate {
		t.Fatalf("late invoice re-sent: %+v %v, want duplicate", res, err)
	}
	desc, err := s.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	if status := desc.WorkflowExecutionInfo.Status; status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow %s after closed_won, want running for the late-cost window", status)
	}

	final, st := stored(t, s, id)
	if st.Deal.Stage != deal.ClosedWon || st.Deal.EndedAt == nil || final.Stage != deal.ClosedWon {
		t.Fatalf("workflow at %s (ended %v), PostgreSQL at %s; want closed_won in both", st.Deal.Stage, st.Deal.EndedAt, final.Stage)
	}
	var stages []deal.Stage
	for _, c := range final.History {
		stages = append(stages, c.To)
	}
	want := []deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Mitigation, deal.InProgress, deal.Maintenance, deal.ClosedWon}
	if !reflect.DeepEqual(stages, want) {
		t.Fatalf("stage history %v, want %v", stages, want)
	}
	// The workflow's running totals and the rows PostgreSQL holds say the
	// same, to the cent (stored compared the rest of the deal).
	for what, m := range map[string]deal.Margin{"workflow": st.Deal.Margin, "PostgreSQL": final.Margin} {
		if got := m.ActualCost.String(); got != "13000" {
			t.Errorf("%s: actual cost %s, want 13000 (12000.50 + 1000 USD at 0.9123 + 87.20)", what, got)
		}
	}
	var ids []string
	for _, inv := range final.Invoices {
		ids = append(ids, inv.InvoiceID)
	}
	if want := []string{"INV-1", "INV-2", "INV-LATE"}; !reflect.DeepEqual(ids, want) || len(final.Fees) != 2 || len(final.Refusals) != 1 {
		t.Errorf("PostgreSQL holds invoices %v, %d fees, %d refusals; want %v, 2 and 1", ids, len(final.Fees), len(final.Refusals), want)
	}
	var snaps int
	if err := s.Pool.QueryRow(ctx, "SELECT count(*) FROM margin_snapshots WHERE deal_id = $1", id).Scan(&snaps); err != nil {
		t.Fatal(err)
	}
	if int64(snaps) != st.Deal.MarginChecks {
		t.Errorf("%d margin snapshots stored, workflow took %d", snaps, st.Deal.MarginChecks)
	}
}
