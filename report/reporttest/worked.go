package reporttest

import (
	"fmt"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// The worked examples of docs/warning-signs.md: five won deals, walked
// through the real rules at the times the document states, on which the
// report's tests compute every figure of the five signs and the browser
// test takes the report's screenshot. WorkedNow is when the report is
// read; each deal's Event times are UTC.
var WorkedNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// WorkedCorrectionFiles are the bulk finance files that only corrected
// earlier rows, by deal: one credit-note file for w-ana-1.
var WorkedCorrectionFiles = map[string]int{"w-ana-1": 1}

// Event is one step of a worked deal at its time.
type Event struct {
	At   time.Time
	Step dealtest.Step
}

// WorkedDeal is one worked example: who sold and handed it over, when it
// was won, and what happened after.
type WorkedDeal struct {
	ID, AE, PM string
	ClosedAt   time.Time
	Events     []Event
}

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func invoice(id, category, amount, date, supplier string) dealtest.Step {
	return dealtest.Step{Signal: deal.SigInvoice, Payload: dealtest.JSON(map[string]any{"invoice_id": id, "category": category,
		"amount": amount, "currency": "EUR", "date": date, "supplier": supplier})}
}

func changeOrder(id, by string) dealtest.Step {
	return dealtest.Step{Signal: deal.SigChangeOrder, Payload: dealtest.JSON(map[string]string{"id": id, "amount": "5000",
		"planned_cost": "3500", "status": "pending", "by": by})}
}

// lateCommitment is a promise someone tries to record after the close;
// the rules refuse it and keep the refusal.
func lateCommitment(id, by, text string) dealtest.Step {
	return dealtest.Step{Signal: deal.SigCommitment, Payload: dealtest.JSON(map[string]string{"id": id, "kind": "integration", "text": text, "by": by})}
}

// WorkedDeals are the examples, as docs/warning-signs.md tells them.
func WorkedDeals() []WorkedDeal {
	const ana, ben, pia, ola, gm = "U_ANA", "U_BEN", "U_PIA", "U_OLA", dealtest.GM
	return []WorkedDeal{
		{ID: "w-ana-0", AE: ana, PM: pia, ClosedAt: at("2026-05-11 09:00"), Events: []Event{
			{at("2026-05-12 10:00"), dealtest.Ask("q1", pia, "Which reports did you promise?")},
			{at("2026-05-12 11:00"), dealtest.Ask("q2", pia, "Is training in the price?")},
			{at("2026-05-12 12:00"), dealtest.Reply("q2", ana, "No, training is extra.")},
			{at("2026-05-13 10:00"), dealtest.Reply("q1", ana, "The three in the SOW.")},
			{at("2026-05-14 09:00"), dealtest.Ask("q3", pia, "Who signs the acceptance?")},
			{at("2026-05-14 10:00"), dealtest.Reply("q3", ana, "Their CFO.")},
			{at("2026-05-20 00:00"), invoice("W0-1", "subcontractor", "31000", "2026-05-14", "Initech")},
			{at("2026-05-20 01:00"), dealtest.Progress("50")},
		}},
		{ID: "w-ana-1", AE: ana, PM: pia, ClosedAt: at("2026-09-07 09:00"), Events: []Event{
			{at("2026-09-08 10:00"), dealtest.Ask("q1", pia, "Which integrations did you promise?")},
			{at("2026-09-08 14:00"), dealtest.Reply("q1", ana, "The CRM export only.")},
			{at("2026-09-15 10:00"), lateCommitment("c9", ana, "Free SSO integration")},
			{at("2026-09-20 09:00"), changeOrder("co1", pia)},
			{at("2026-09-20 10:00"), dealtest.Ask("q2", gm, "Did you promise SSO?")},
			{at("2026-09-22 10:00"), dealtest.Reply("q2", ana, "Yes, on the last call.")},
			{at("2026-09-24 00:00"), invoice("W1-1", "subcontractor", "40000", "2026-09-10", "Initech")},
			{at("2026-09-24 01:00"), dealtest.Progress("50")},
		}},
		{ID: "w-ana-2", AE: ana, PM: pia, ClosedAt: at("2026-10-05 09:00"), Events: []Event{
			{at("2026-10-06 10:00"), dealtest.Ask("q1", pia, "What is the go-live date?")},
			{at("2026-10-07 10:00"), dealtest.Ask("q2", pia, "Who hosts the data?")},
			{at("2026-10-07 12:00"), dealtest.Reply("q2", ana, "We do, in Frankfurt.")},
			{at("2026-10-23 00:00"), invoice("W2-1", "subcontractor", "42000", "2026-10-20", "Acme")},
			{at("2026-10-23 01:00"), dealtest.Progress("50")},
			{at("2026-11-20 10:00"), dealtest.Ask("q3", pia, "Are weekend releases included?")},
			{at("2026-11-20 13:00"), dealtest.Reply("q3", ana, "No.")},
		}},
		{ID: "w-ana-3", AE: ana, PM: ola, ClosedAt: at("2026-11-02 09:00"), Events: []Event{
			{at("2026-11-06 00:00"), invoice("W3-1", "subcontractor", "38000", "2026-11-05", "Initech")},
			{at("2026-11-06 01:00"), dealtest.Progress("50")},
			{at("2026-11-10 09:00"), changeOrder("co1", ola)},
		}},
		{ID: "w-ben-1", AE: ben, PM: ola, ClosedAt: at("2026-10-12 09:00"), Events: []Event{
			{at("2026-10-13 11:00"), dealtest.Ask("q1", gm, "Any discount beyond the 10%?")},
			{at("2026-10-13 12:00"), dealtest.Reply("q1", ben, "None.")},
			{at("2026-10-16 00:00"), invoice("W4-1", "subcontractor", "30000", "2026-10-15", "Initech")},
			{at("2026-10-16 01:00"), dealtest.Progress("50")},
		}},
	}
}

// presaleInvoices are invoices taken before a worked deal's close, by deal:
// w-ana-2 had a license from Acme, which leaves Acme a trail.
var presaleInvoices = map[string]Event{
	"w-ana-2": {at("2026-10-02 00:00"), invoice("W2-0", "license", "2000", "2026-10-01", "Acme")},
}

// Record walks the worked deal through the rules: presale a minute apart
// before the close (with its presale invoice), the handover a day after
// the close, then its events.
func (w WorkedDeal) Record() (*deal.Record, error) {
	t := dealtest.Terms(w.ID, w.ClosedAt)
	t.People.AE, t.People.PM = w.AE, w.PM
	steps := dealtest.ToClosing()
	at := w.ClosedAt.Add(-time.Duration(len(steps)+1) * time.Minute)
	if e, ok := presaleInvoices[w.ID]; ok {
		at = e.At.Add(-time.Duration(len(steps)+1) * time.Minute)
	}
	d, err := dealtest.Open(t, at)
	if err != nil {
		return nil, err
	}
	apply := func(when time.Time, s dealtest.Step, want string) error {
		s = AsPeople([]dealtest.Step{s}, w.AE, w.PM)[0]
		if res := d.Send(when, s.Signal, s.Payload); res.Status != want {
			return fmt.Errorf("deal %s: %s %s at %s: %s %s", w.ID, s.Signal, s.Payload, when, res.Status, res.Reason)
		}
		return nil
	}
	for _, s := range steps {
		at = at.Add(time.Minute)
		if err := apply(at, s, deal.Accepted); err != nil {
			return nil, err
		}
	}
	if e, ok := presaleInvoices[w.ID]; ok {
		if err := apply(e.At, e.Step, deal.Accepted); err != nil {
			return nil, err
		}
	}
	if err := apply(w.ClosedAt, dealtest.Won(), deal.Accepted); err != nil {
		return nil, err
	}
	if err := apply(w.ClosedAt.Add(24*time.Hour), dealtest.Handover(), deal.Accepted); err != nil {
		return nil, err
	}
	for _, e := range w.Events {
		want := deal.Accepted
		if e.Step.Signal == deal.SigCommitment {
			want = deal.Refused
		}
		if err := apply(e.At, e.Step, want); err != nil {
			return nil, err
		}
	}
	return d.Record, nil
}

// WorkedRecords are every worked deal's record.
func WorkedRecords() ([]*deal.Record, error) {
	var out []*deal.Record
	for _, w := range WorkedDeals() {
		r, err := w.Record()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
