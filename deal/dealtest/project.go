package dealtest

import (
	"slices"
	"time"

	"dealflow/deal"
)

// Deal runs the rules without Temporal or PostgreSQL: the state as the
// workflow holds it, and the record as PostgreSQL would hold it after the
// same writes (each row upserted by its key, ledger entries taken when
// their id is new). Tests of the rules and of pure readers use it.
type Deal struct {
	State  *deal.State
	Record *deal.Record
	// Effects are what the last Send or Check asked of the outside world.
	Effects deal.Effects
}

// Open opens a deal at now.
func Open(t deal.Terms, now time.Time) (*Deal, error) {
	st, eff, err := deal.Open(t, now)
	if err != nil {
		return nil, err
	}
	d := &Deal{State: st, Record: &deal.Record{Terms: st.Terms, OpenedAt: now, History: []deal.StageChange{},
		Tickets: []deal.Ticket{}, Commitments: []deal.Commitment{}, Incidents: []deal.Incident{}, Fees: []deal.Fee{},
		Invoices: []deal.Invoice{}, ChangeOrders: []deal.ChangeOrder{}, Questions: []deal.Question{}, Alerts: []deal.Alert{}, Refusals: []deal.Refusal{}}}
	d.take(eff)
	return d, nil
}

// Send applies one signal as the workflow would, invoices and fees
// included, and answers it.
func (d *Deal) Send(now time.Time, signal string, payload []byte) deal.Result {
	d.Effects = deal.Effects{}
	if !deal.IsLedgerSignal(signal) {
		res, eff := d.State.Apply(now, signal, payload)
		d.take(eff)
		return res
	}
	e, err := d.State.CheckEntry(now, signal, payload)
	if err != nil {
		res, eff := d.State.Refuse(now, signal, err.Error(), payload)
		d.take(eff)
		return res
	}
	res := d.ledger(e)
	if res.Status == deal.Refused {
		res, eff := d.State.Refuse(now, signal, res.Reason, payload)
		d.take(eff)
		return res
	}
	if res.Status == deal.Accepted {
		totals := d.State.Ledger
		totals.Add(e)
		totals.Batches++
		d.take(d.State.TakeLedger(now, totals))
	}
	return res
}

// Check runs one turn of the margin-check loop.
func (d *Deal) Check(now time.Time) {
	d.Effects = deal.Effects{}
	d.take(d.State.CheckMargin(now))
}

// Escalate runs one turn of the question-escalation timer.
func (d *Deal) Escalate(now time.Time) {
	d.Effects = deal.Effects{}
	d.take(d.State.Escalate(now))
}

// ledger is PostgreSQL's part of an invoice or fee: new, a repeat, or a
// conflict with what the id already holds.
func (d *Deal) ledger(e deal.LedgerEntry) deal.Result {
	r := d.Record
	var taken *deal.LedgerEntry
	if inv := e.Invoice; inv != nil {
		if i := slices.IndexFunc(r.Invoices, func(x deal.Invoice) bool { return x.InvoiceID == inv.InvoiceID }); i >= 0 {
			taken = &deal.LedgerEntry{Invoice: &r.Invoices[i]}
		}
	} else if i := slices.IndexFunc(r.Fees, func(x deal.Fee) bool { return x.FeeID == e.Fee.FeeID }); i >= 0 {
		taken = &deal.LedgerEntry{Fee: &r.Fees[i]}
	}
	switch {
	case taken == nil:
		if e.Invoice != nil {
			r.Invoices = append(r.Invoices, *e.Invoice)
		} else {
			r.Fees = append(r.Fees, *e.Fee)
		}
		return deal.Result{Status: deal.Accepted}
	case taken.SameAs(e):
		return deal.Result{Status: deal.Duplicate}
	}
	return deal.Result{Status: deal.Refused, Reason: taken.Conflict()}
}

// take upserts rows by key, as the store does, and copies the state's
// columns onto the record.
func (d *Deal) take(eff deal.Effects) {
	d.Effects.Rows.Merge(eff.Rows)
	d.Effects.Notices = append(d.Effects.Notices, eff.Notices...)
	rows := eff.Rows
	r, s := d.Record, d.State
	r.History = append(r.History, rows.StageChanges...)
	for _, t := range rows.Tickets {
		i := slices.IndexFunc(r.Tickets, func(x deal.Ticket) bool { return x.ID == t.ID })
		if i < 0 {
			t.Signoffs = []deal.Signoff{}
			r.Tickets = append(r.Tickets, t)
			continue
		}
		old := r.Tickets[i]
		t.Signoffs = old.Signoffs
		if t.Deliverable == nil {
			t.Deliverable = old.Deliverable
		}
		r.Tickets[i] = t
	}
	for _, so := range rows.Signoffs {
		i := slices.IndexFunc(r.Tickets, func(x deal.Ticket) bool { return x.ID == so.Ticket })
		r.Tickets[i].Signoffs = append(r.Tickets[i].Signoffs, so.Signoff)
	}
	r.Commitments = append(r.Commitments, rows.Commitments...)
	if rows.Handover != nil {
		h := *rows.Handover
		r.Handover = &h
	}
	for _, in := range rows.Incidents {
		i := slices.IndexFunc(r.Incidents, func(x deal.Incident) bool { return x.IncidentID == in.IncidentID })
		if i < 0 {
			r.Incidents = append(r.Incidents, in)
			continue
		}
		if in.Title == "" {
			in.Title = r.Incidents[i].Title
		}
		// As in PostgreSQL: an update keeps when the incident was opened.
		in.OpenedAt = r.Incidents[i].OpenedAt
		r.Incidents[i] = in
	}
	for _, co := range rows.ChangeOrders {
		if i := slices.IndexFunc(r.ChangeOrders, func(x deal.ChangeOrder) bool { return x.ID == co.ID }); i >= 0 {
			r.ChangeOrders[i] = co
		} else {
			r.ChangeOrders = append(r.ChangeOrders, co)
		}
	}
	for _, q := range rows.Questions {
		r.Questions = MergeQuestion(r.Questions, q)
	}
	r.Refusals = append(r.Refusals, rows.Refusals...)
	r.Alerts = append(r.Alerts, rows.Alerts...)
	r.Stage, r.BaseStage, r.Close, r.Progress, r.Margin = s.Stage, s.BaseStage, s.Close, s.Progress, s.Margin
	r.MarginChecks, r.Version = s.MarginChecks, s.Version
	r.InvoicesTotal, r.RefusalsTotal = s.Ledger.Invoices, s.Refusals
}
