// Package servertest has what the integration tests of the worker process
// (server) and of the starter share: waiting for PostgreSQL to catch up
// with a deal's workflow, and comparing the two.
package servertest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"go.temporal.io/sdk/client"

	"dealflow/db"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/workflows"
)

// Stored waits until PostgreSQL holds everything the deal's workflow has
// done, and returns the deal read back from there with the workflow's
// status. The workflow keeps the process, PostgreSQL the lists, and the
// writes are asynchronous: a test that reads the lists reads them here,
// once no write and no ledger batch is pending and the stored deal agrees
// with the workflow's state.
func Stored(t testing.TB, c client.Client, store *db.Store, dealID string) (*deal.Record, *workflows.Status) {
	t.Helper()
	ctx := context.Background()
	var rec *deal.Record
	var st *workflows.Status
	why, caughtUp := "nothing read yet", false
	defer func() {
		if !caughtUp { // Eventually gave up: say what still differed
			t.Logf("deal %s: %s", dealID, why)
		}
	}()
	dealtest.Eventually(t, "PostgreSQL to hold what deal "+dealID+"'s workflow holds", func() bool {
		var err error
		if st, err = workflows.Record(ctx, c, dealID); err != nil {
			why = err.Error()
			return false
		}
		if st.PendingWrites > 0 || st.PendingLedger > 0 {
			why = fmt.Sprintf("%d writes and %d ledger entries pending", st.PendingWrites, st.PendingLedger)
			return false
		}
		if rec, err = store.LoadRecord(ctx, dealID); err != nil {
			why = err.Error()
			return false
		}
		why = Disagreement(rec, &st.Deal)
		return why == ""
	})
	caughtUp = true
	return rec, st
}

// Disagreement says where a deal read back from PostgreSQL differs from
// the workflow's state, or "" when it agrees: every column and every row
// the state knows of, with the lists' sizes where the state keeps counts.
func Disagreement(rec *deal.Record, s *deal.State) string {
	// The parts of a record the state holds, in the record's own shape,
	// so times and decimals compare the way dealtest.Comparable cuts them.
	fromState := &deal.Record{Terms: s.Terms, Stage: s.Stage, OpenedAt: s.OpenedAt, BaseStage: s.BaseStage, Close: s.Close,
		Progress: s.Progress, Margin: s.Margin, MarginChecks: s.MarginChecks, Version: s.Version, ChangeOrders: s.ChangeOrders,
		InvoicesTotal: s.Ledger.Invoices}
	fromDB := &deal.Record{Terms: rec.Terms, Stage: rec.Stage, OpenedAt: rec.OpenedAt, BaseStage: rec.BaseStage, Close: rec.Close,
		Progress: rec.Progress, Margin: rec.Margin, MarginChecks: rec.MarginChecks, Version: rec.Version, ChangeOrders: rec.ChangeOrders,
		InvoicesTotal: rec.InvoicesTotal}
	for _, tk := range s.Tickets {
		fromState.Tickets = append(fromState.Tickets, tk.View())
	}
	for _, tk := range rec.Tickets {
		tk.Deliverable, tk.Signoffs = nil, nil
		fromDB.Tickets = append(fromDB.Tickets, tk)
	}
	for _, c := range s.Commitments {
		fromState.Commitments = append(fromState.Commitments, deal.Commitment{ID: c.ID})
	}
	for _, c := range rec.Commitments {
		fromDB.Commitments = append(fromDB.Commitments, deal.Commitment{ID: c.ID})
	}
	for _, i := range s.Incidents {
		fromState.Incidents = append(fromState.Incidents, deal.Incident{IncidentID: i.ID, Severity: i.Severity, Status: i.Status, UpdatedAt: i.ActedAt})
	}
	for _, i := range rec.Incidents {
		fromDB.Incidents = append(fromDB.Incidents, deal.Incident{IncidentID: i.IncidentID, Severity: i.Severity, Status: i.Status, UpdatedAt: i.UpdatedAt})
	}
	if h := s.Handover; h != nil {
		fromState.Handover = &deal.HandoverTicket{PM: h.PM, Status: h.Status, OpenedAt: h.OpenedAt, SignedOffAt: h.SignedOffAt, SignedOffBy: h.SignedOffBy}
	}
	if h := rec.Handover; h != nil {
		fromDB.Handover = &deal.HandoverTicket{PM: h.PM, Status: h.Status, OpenedAt: h.OpenedAt, SignedOffAt: h.SignedOffAt, SignedOffBy: h.SignedOffBy}
	}
	if a, b := dealtest.JSON(dealtest.Comparable(fromDB)), dealtest.JSON(dealtest.Comparable(fromState)); !bytes.Equal(a, b) {
		return fmt.Sprintf("PostgreSQL holds\n%s\nthe workflow\n%s", a, b)
	}
	for i, tk := range s.Tickets {
		if n := len(rec.Tickets[i].Signoffs); n != tk.Signoffs {
			return fmt.Sprintf("ticket %s has %d sign-offs in PostgreSQL, %d in the workflow", tk.ID, n, tk.Signoffs)
		}
	}
	if n := int64(len(rec.Fees)); n != s.Ledger.Fees {
		return fmt.Sprintf("%d fees in PostgreSQL, %d in the workflow", n, s.Ledger.Fees)
	}
	if n, want := int64(len(rec.Refusals)), min(s.Refusals, deal.MaxRefusals); n != want || (n > 0 && int64(rec.Refusals[n-1].Seq) != s.Refusals) {
		return fmt.Sprintf("%d refusals read back from PostgreSQL, the workflow counts %d", n, s.Refusals)
	}
	if n := len(rec.History); (n == 0 && s.StageChanges != 0) || (n > 0 && int64(rec.History[n-1].Seq) != s.StageChanges) {
		return fmt.Sprintf("%d stage changes in PostgreSQL, the workflow counts %d", n, s.StageChanges)
	}
	if s.Alerted != "" && rec.AlertedMarginStatus() != s.Alerted {
		return fmt.Sprintf("PostgreSQL's alerts end at %s, the workflow alerted %s", rec.AlertedMarginStatus(), s.Alerted)
	}
	return ""
}
