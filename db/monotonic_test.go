package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/db/dbtest"
	"dealflow/deal"
)

// TestLateWriteChangesNothing: rows changed in place carry the deal
// version that wrote them, so a write from an older version (an old run's
// retry arriving after the next run's write) leaves every one of them as
// the newer write left it, and the same write again is harmless.
func TestLateWriteChangesNothing(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Store(t)
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	d := claimed(t, store, "d1", start)
	if len(d.Effects.Rows.Tickets) == 0 {
		t.Fatal("a deal opens with no ticket")
	}
	tk := d.Effects.Rows.Tickets[0]
	base := d.State.Summary().Version

	rowsAt := func(status, ticketStatus, coStatus, hoStatus, body string, at time.Time) deal.Rows {
		t := tk
		t.Status, t.Signoffs = ticketStatus, nil
		t.Deliverable = &deal.Deliverable{Kind: t.DeliverableKind, Body: body}
		return deal.Rows{
			Tickets:      []deal.Ticket{t},
			Incidents:    []deal.Incident{{IncidentID: "inc-1", Severity: "critical", Status: status, Title: "down", OpenedAt: start, UpdatedAt: at}},
			ChangeOrders: []deal.ChangeOrder{{ID: "co-1", Amount: decimal.NewFromInt(100), PlannedCost: decimal.NewFromInt(50), Status: coStatus, By: "U1", At: at}},
			Handover:     &deal.HandoverTicket{PM: "UPM", Status: hoStatus, OpenedAt: start},
		}
	}
	save := func(version int64, rows deal.Rows) {
		t.Helper()
		sum := d.State.Summary()
		sum.Version = version
		if _, err := store.SaveRows(ctx, &sum, "", rows); err != nil {
			t.Fatal(err)
		}
	}
	save(base+1, rowsAt("open", "open", "pending", "open", "first draft", start.Add(time.Hour)))
	newer := rowsAt("resolved", "closed", "approved", "signed_off", "final", start.Add(3*time.Hour))
	save(base+3, newer)
	// The old run's write of version base+2 arrives late, then the newer
	// write is retried.
	save(base+2, rowsAt("open", "open", "rejected", "open", "second draft", start.Add(2*time.Hour)))
	save(base+3, newer)

	r, err := store.LoadRecord(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Incidents) != 1 || r.Incidents[0].Status != "resolved" {
		t.Errorf("incidents %+v, want inc-1 resolved", r.Incidents)
	}
	if len(r.ChangeOrders) != 1 || r.ChangeOrders[0].Status != "approved" {
		t.Errorf("change orders %+v, want co-1 approved", r.ChangeOrders)
	}
	if r.Handover == nil || r.Handover.Status != "signed_off" {
		t.Errorf("handover %+v, want signed_off", r.Handover)
	}
	var got *deal.Ticket
	for i := range r.Tickets {
		if r.Tickets[i].ID == tk.ID {
			got = &r.Tickets[i]
		}
	}
	if got == nil || got.Status != "closed" || got.Deliverable == nil || got.Deliverable.Body != "final" {
		t.Errorf("ticket %+v (deliverable %+v), want closed with the final deliverable", got, got.Deliverable)
	}
}
