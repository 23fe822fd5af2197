// Package dealtest has the deal fixtures the tests of every package share:
// terms, and the signals that walk a deal through the protocol.
package dealtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
)

// People of every test deal.
const (
	AE       = "U_AE"
	Presales = "U_PRESALES"
	Pricing  = "U_PRICING"
	PM       = "U_PM"
	GM       = "U_GM"
)

// Terms is a 100,000 EUR deal at a 30% target margin, planned over 100
// days from start, whose scoping ticket needs the client's sign-off.
func Terms(id string, start time.Time) deal.Terms {
	s := deal.NewDate(start.Year(), start.Month(), start.Day())
	return deal.Terms{
		DealID: id, Client: "Globex", Workstream: "Data platform " + id, Currency: "EUR",
		ContractValue: decimal.RequireFromString("100000"), TargetMarginPct: decimal.RequireFromString("30"),
		StartDate: s, EndDate: deal.Date{Time: s.AddDate(0, 0, 100)},
		People:        deal.People{AE: AE, Presales: Presales, PricingApprover: Pricing, PM: PM, GM: GM},
		ClientSignoff: []string{"scoping"}, SlackChannel: "C_DEALS",
	}
}

// Step is one signal and its JSON payload.
type Step struct {
	Signal  string
	Payload []byte
}

// JSON marshals v or panics; fixtures are static.
func JSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Approve is the owner's internal (or client) approval of a ticket.
func Approve(ticket, by, side string) Step {
	kinds := map[string]string{"discovery": "discovery_notes", "scoping": "scoping_decision_log", "proposal": "proposal_assumptions", "pricing": "pricing_rationale"}
	return Step{deal.SigSignoff, JSON(map[string]any{"ticket": ticket, "by": by, "side": side, "decision": "approve",
		"deliverable": map[string]string{"kind": kinds[ticket], "body": ticket + " deliverable", "url": "https://docs.example.com/" + ticket}})}
}

// ClientSigned is a sign-off the client gave through a link: sent by the
// owner with the client's signer, on the deliverable Approve attached.
// Fields of change override the defaults: name, email, body, note, by.
func ClientSigned(ticket, side, decision string, change map[string]string) Step {
	f := map[string]string{"name": "Jane Doe", "email": "jane@client.com", "body": ticket + " deliverable",
		"note": "please add the data retention period", "by": Presales, "link": "L1"}
	for k, v := range change {
		f[k] = v
	}
	kinds := map[string]string{"discovery": "discovery_notes", "scoping": "scoping_decision_log"}
	p := map[string]any{"ticket": ticket, "by": f["by"], "side": side, "decision": decision, "id": "link-" + f["link"],
		"deliverable": map[string]string{"kind": kinds[ticket], "body": f["body"], "url": "https://docs.example.com/" + ticket},
		"client":      map[string]string{"name": f["name"], "email": f["email"], "evidence": "e3b0c442", "link_id": f["link"]}}
	if decision != "approve" {
		p["note"] = f["note"]
	}
	return Step{deal.SigSignoff, JSON(p)}
}

// ToClosing signs every presale ticket off and records two commitments.
func ToClosing() []Step {
	return []Step{
		{deal.SigCommitment, JSON(map[string]string{"id": "c1", "kind": "discount", "text": "10% off phase 2", "value": "10%", "by": AE})},
		Approve("discovery", Presales, "internal"),
		Approve("scoping", Presales, "internal"),
		Approve("scoping", Presales, "client"),
		{deal.SigCommitment, JSON(map[string]string{"id": "c2", "kind": "date", "text": "go-live before March", "by": AE})},
		Approve("proposal", AE, "internal"),
		Approve("pricing", Pricing, "internal"),
	}
}

// Won closes the deal won.
func Won() Step {
	return Step{deal.SigClose, JSON(map[string]string{"outcome": "won", "by": AE, "reason": "SOW signed"})}
}

// Handover is the PM's complete checklist for a deal with commitments c1, c2.
func Handover() Step {
	return Step{deal.SigHandover, JSON(map[string]any{"by": PM, "signed_off": true, "checklist": map[string]any{
		"deliverables_reviewed": true, "commitments_acknowledged": []string{"c1", "c2"},
		"scope_ambiguities": []string{"data retention period"}, "resources_confirmed": true}})}
}

// ToDelivery walks a new deal to in_progress.
func ToDelivery() []Step {
	return append(ToClosing(), Won(), Handover())
}

// Invoice is a cost invoice in EUR.
func Invoice(id, category, amount, date string) Step {
	return Step{deal.SigInvoice, JSON(map[string]any{"invoice_id": id, "category": category, "amount": amount, "currency": "EUR", "date": date, "supplier": "Initech"})}
}

// Progress is the PM's report of percent complete.
func Progress(pct string) Step {
	return Step{deal.SigProgress, JSON(map[string]any{"pct_complete": pct, "by": PM})}
}

// Comparable turns a record into plain JSON values with every time cut to
// the microsecond in UTC (what PostgreSQL keeps), so the record the
// workflow answers and the one read back from the database compare equal.
// Alerts keep only their ids and statuses: the database keeps the numbers
// that triggered them, not the whole margin.
func Comparable(r *deal.Record) any {
	c := *r
	c.Alerts = nil
	for _, a := range r.Alerts {
		c.Alerts = append(c.Alerts, deal.Alert{ID: a.ID, Kind: a.Kind, From: a.From, To: a.To, At: a.At})
	}
	var v any
	if err := json.Unmarshal(JSON(c), &v); err != nil {
		panic(err)
	}
	return cutTimes(v)
}

func cutTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = cutTimes(e)
		}
	case []any:
		for i, e := range x {
			x[i] = cutTimes(e)
		}
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		}
	}
	return v
}

// Eventually polls cond until it holds or thirty seconds pass. It waits for
// asynchronous writes (PostgreSQL, Temporal visibility); it asserts nothing
// about speed, so a slow machine only waits longer.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WithoutRefusals is the record as it would be had no refused signal come:
// refusals are the one thing a refused signal may add.
func WithoutRefusals(r *deal.Record) string {
	c := *r
	c.Refusals, c.RefusalsTotal, c.Version = nil, 0, 0
	c.Tickets = nil
	for _, tk := range r.Tickets {
		var kept []deal.Signoff
		for _, so := range tk.Signoffs {
			if !so.Refused {
				kept = append(kept, so)
			}
		}
		tk.Signoffs = kept
		c.Tickets = append(c.Tickets, tk)
	}
	return string(JSON(c))
}

// StateWithoutRefusals is the state as it would be had no refused signal
// come: the refusal count, the version and the sign-off count of a
// refused sign-off are what a refusal may change.
func StateWithoutRefusals(s *deal.State) string {
	c := *s.Clone()
	c.Refusals, c.Version = 0, 0
	for i := range c.Tickets {
		c.Tickets[i].Signoffs = 0
	}
	return string(JSON(c))
}
