package workflows

import (
	"os"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// TestVersion1CarryUpgrades takes the carry a version-1 run handed over in
// a recorded history (deal-v3-continued.json: a deal in delivery with an
// off-track alert) and starts the current code with it: the record moves
// to PostgreSQL, the state is derived from it, signals version 1 took are
// still repeats, and the deal goes on.
func TestVersion1CarryUpgrades(t *testing.T) {
	in := recordedCarry(t, "testdata/deal-v3-continued.json")
	id := newDealID()
	in.DealID = id
	in.Carry.Record.Terms.DealID = id
	var rec deal.Record
	if err := roundTrip(in.Carry.Record, &rec); err != nil {
		t.Fatal(err)
	}

	p := newProtoRunFor(t, id)
	p.env.SetStartTime(rec.OpenedAt.Add(24 * time.Hour))
	p.env.SetContinuedExecutionRunID("version-1-run")
	// What version 1 took answers duplicate: the last invoice it recorded.
	var st Status
	p.check(func(s Status, r *deal.Record) {
		st = s
		if r.Version != rec.Version || len(r.Invoices) != len(rec.Invoices) || len(r.History) != len(rec.History) {
			t.Errorf("imported record: version %d, %d invoices, %d stage changes; version 1 had %d, %d, %d",
				r.Version, len(r.Invoices), len(r.History), rec.Version, len(rec.Invoices), len(rec.History))
		}
	})
	last := rec.Invoices[len(rec.Invoices)-1]
	p.update(dealtest.Invoice(last.InvoiceID, last.Category, last.Amount.String(), last.Date.String()))
	p.update(dealtest.Invoice("INV-after-upgrade", "travel", "100", "2026-03-01"))
	p.later(p.env.CancelWorkflow)
	p.env.ExecuteWorkflow(DealWorkflow, in)

	if got := p.statuses(); len(got) != 2 || got[0] != deal.Duplicate || got[1] != deal.Accepted {
		t.Fatalf("outcomes after the upgrade %+v", p.results)
	}
	if st.Deal.Stage != rec.Stage || st.Deal.Alerted != rec.AlertedMarginStatus() || st.Deal.Ledger.Invoices != int64(len(rec.Invoices)) {
		t.Fatalf("derived state: stage %s alerted %s invoices %d; the record: %s %s %d", st.Deal.Stage, st.Deal.Alerted,
			st.Deal.Ledger.Invoices, rec.Stage, rec.AlertedMarginStatus(), len(rec.Invoices))
	}
	if !st.Deal.Margin.ActualCost.Equal(rec.Margin.ActualCost) {
		t.Fatalf("actual cost %s after the upgrade, %s before", st.Deal.Margin.ActualCost, rec.Margin.ActualCost)
	}
}

// recordedCarry is the input of the continue-as-new that ends a recorded
// history, decoded as the current code decodes it.
func recordedCarry(t *testing.T, path string) Input {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var h historypb.History
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	for _, e := range h.Events {
		if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
			var in Input
			if err := converter.GetDefaultDataConverter().FromPayloads(a.Input, &in); err != nil {
				t.Fatalf("the version-1 carry does not decode: %v", err)
			}
			if in.Carry == nil {
				t.Fatal("no version-1 carry in the continue-as-new")
			}
			return in
		}
	}
	t.Fatalf("%s ends in no continue-as-new", path)
	return Input{}
}
