package server

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/workflows"
)

// TestDealRoundTrip drives one deal from discovery to closed_won through the
// real dev server and checks that PostgreSQL holds the same record as the
// workflow answers, to the cent.
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
		r, err := workflows.Record(ctx, s.Client, id)
		return err == nil && len(r.Refusals) == 1
	})
	rec, _ := workflows.Record(ctx, s.Client, id)
	if rec.Stage != deal.Mitigation {
		t.Fatalf("stage with an open critical incident = %s, want mitigation", rec.Stage)
	}
	send(t, s, id,
		dealtest.Step{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "critical", "status": "resolved"})},
		dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "maintenance", "by": dealtest.PM})},
		dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "closed_won", "by": dealtest.GM})},
	)

	var final deal.Record
	if err := s.Client.GetWorkflow(ctx, workflows.WorkflowID(id), "").Get(ctx, &final); err != nil {
		t.Fatalf("workflow did not complete: %v", err)
	}
	if final.Stage != deal.ClosedWon {
		t.Fatalf("final stage %s", final.Stage)
	}
	var stages []deal.Stage
	for _, c := range final.History {
		stages = append(stages, c.To)
	}
	want := []deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Mitigation, deal.InProgress, deal.Maintenance, deal.ClosedWon}
	if !reflect.DeepEqual(stages, want) {
		t.Fatalf("stage history %v, want %v", stages, want)
	}
	if got := final.Margin.ActualCost.String(); got != "12912.8" {
		t.Errorf("actual cost %s, want 12912.8 (12000.50 + 1000 USD at 0.9123)", got)
	}

	stored, err := s.Store.LoadRecord(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dealtest.Comparable(stored), dealtest.Comparable(&final); !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", " ")
		wb, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("PostgreSQL record differs from the workflow's\npostgres: %s\nworkflow: %s", gb, wb)
	}
	var snaps int
	if err := s.Pool.QueryRow(ctx, "SELECT count(*) FROM margin_snapshots WHERE deal_id = $1", id).Scan(&snaps); err != nil {
		t.Fatal(err)
	}
	if int64(snaps) != final.MarginChecks {
		t.Errorf("%d margin snapshots stored, workflow took %d", snaps, final.MarginChecks)
	}
}
