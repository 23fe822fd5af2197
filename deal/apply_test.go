package deal_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// at builds a record that has gone through the given steps, failing the
// test if any of them is not accepted.
func at(t *testing.T, steps ...dealtest.Step) *deal.Record {
	t.Helper()
	r, _, err := deal.Open(dealtest.Terms("d1", t0), t0)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if res, _ := r.Apply(t0.Add(time.Duration(i+1)*time.Minute), s.Signal, s.Payload); res.Status != deal.Accepted {
			t.Fatalf("setup step %d %s %s: %+v", i, s.Signal, s.Payload, res)
		}
	}
	return r
}

func step(signal string, v any) dealtest.Step {
	return dealtest.Step{Signal: signal, Payload: dealtest.JSON(v)}
}

var (
	inDiscovery = func(t *testing.T) *deal.Record { return at(t) }
	inScoping   = func(t *testing.T) *deal.Record { return at(t, dealtest.ToClosing()[:2]...) }
	inClosing   = func(t *testing.T) *deal.Record { return at(t, dealtest.ToClosing()...) }
	inHandover  = func(t *testing.T) *deal.Record { return at(t, append(dealtest.ToClosing(), dealtest.Won())...) }
	inDelivery  = func(t *testing.T) *deal.Record { return at(t, dealtest.ToDelivery()...) }
)

// withoutRefusals is the record as it would be had the refused signal
// never come: refusals are the one thing a refused signal may add.
// at2 is a setup of fixed steps followed by more.
func at2(steps []dealtest.Step, more ...dealtest.Step) func(*testing.T) *deal.Record {
	return func(t *testing.T) *deal.Record { return at(t, append(append([]dealtest.Step{}, steps...), more...)...) }
}

func withoutRefusals(r *deal.Record) string {
	c := *r
	c.Refusals, c.Version = nil, 0
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
	b, _ := json.Marshal(c)
	return string(b)
}

func TestRefusalsChangeNothingElse(t *testing.T) {
	ho := func(c map[string]any) dealtest.Step {
		full := map[string]any{"deliverables_reviewed": true, "commitments_acknowledged": []string{"c1", "c2"},
			"scope_ambiguities": []string{}, "resources_confirmed": true}
		for k, v := range c {
			if v == nil {
				delete(full, k)
			} else {
				full[k] = v
			}
		}
		return step(deal.SigHandover, map[string]any{"by": dealtest.PM, "signed_off": true, "checklist": full})
	}
	approve := func(ticket, by, side string, deliverable any) dealtest.Step {
		return step(deal.SigSignoff, map[string]any{"ticket": ticket, "by": by, "side": side, "decision": "approve", "deliverable": deliverable})
	}
	notes := map[string]string{"kind": "discovery_notes", "body": "notes"}
	cases := []struct {
		name   string
		setup  func(*testing.T) *deal.Record
		step   dealtest.Step
		reason string
	}{
		{"sign-off by someone not the owner", inDiscovery, approve("discovery", dealtest.AE, "internal", notes), "only the ticket owner U_PRESALES"},
		{"sign-off of a ticket not open yet", inDiscovery, dealtest.Approve("proposal", dealtest.AE, "internal"), "no ticket \"proposal\""},
		{"sign-off of a closed ticket", inScoping, dealtest.Approve("discovery", dealtest.Presales, "client"), "ticket discovery is closed"},
		{"unknown ticket", inDiscovery, dealtest.Approve("kickoff", dealtest.Presales, "internal"), "no ticket \"kickoff\""},
		{"approval without deliverable", inDiscovery, approve("discovery", dealtest.Presales, "internal", nil), "needs its deliverable (discovery_notes)"},
		{"approval with an empty deliverable", inDiscovery, approve("discovery", dealtest.Presales, "internal", map[string]string{"kind": "discovery_notes"}), "with a body or a url"},
		{"deliverable of the wrong kind", inDiscovery, approve("discovery", dealtest.Presales, "internal", map[string]string{"kind": "pricing_rationale", "body": "x"}), "delivers discovery_notes"},
		{"client sign-off where none is needed", inDiscovery, approve("discovery", dealtest.Presales, "client", notes), "takes no client sign-off"},
		{"client sign-off before the internal one", inScoping, dealtest.Approve("scoping", dealtest.Presales, "client"), "after the internal approval"},
		{"change request without a note", inDiscovery, step(deal.SigSignoff, map[string]any{"ticket": "discovery", "by": dealtest.Presales, "side": "internal", "decision": "changes_requested"}), "needs a note"},
		{"bad side", inDiscovery, approve("discovery", dealtest.Presales, "vendor", notes), "side must be internal or client"},
		{"bad decision", inDiscovery, step(deal.SigSignoff, map[string]any{"ticket": "discovery", "by": dealtest.Presales, "side": "internal", "decision": "maybe"}), "decision must be"},
		{"unknown field", inDiscovery, step(deal.SigSignoff, map[string]any{"tikcet": "discovery"}), "unknown field \"tikcet\""},
		{"payload not an object", inDiscovery, dealtest.Step{Signal: deal.SigSignoff, Payload: []byte(`"approve"`)}, "payload does not decode"},
		{"unknown signal", inDiscovery, step("approve", map[string]any{}), "unknown signal \"approve\""},
		{"commitment of unknown kind", inDiscovery, step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "bribe", "text": "x", "by": dealtest.AE}), "commitment kind must be one of"},
		{"commitment without text", inDiscovery, step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "date", "by": dealtest.AE}), "needs id, text and by"},
		{"commitment id reused with other content", inScoping, step(deal.SigCommitment, map[string]string{"id": "c1", "kind": "discount", "text": "20% off", "by": dealtest.AE}), "already recorded with other content"},
		{"commitment after the close", inHandover, step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "date", "text": "x", "by": dealtest.AE}), "recorded during presale"},
		{"won before pricing is signed off", inScoping, dealtest.Won(), "only once pricing is signed off"},
		{"close by someone not the AE", inClosing, step(deal.SigClose, map[string]string{"outcome": "won", "by": dealtest.PM}), "only the AE U_AE"},
		{"lost after won", inHandover, step(deal.SigClose, map[string]string{"outcome": "lost", "by": dealtest.AE}), "only before it is won"},
		{"bad outcome", inClosing, step(deal.SigClose, map[string]string{"outcome": "postponed", "by": dealtest.AE}), "outcome must be won or lost"},
		{"handover before the deal is won", inClosing, dealtest.Handover(), "no handover ticket yet"},
		{"handover by someone not the PM", inHandover, step(deal.SigHandover, map[string]any{"by": dealtest.AE, "signed_off": true}), "only the assigned PM U_PM"},
		{"handover without deliverables reviewed", inHandover, ho(map[string]any{"deliverables_reviewed": false}), "deliverables_reviewed is not confirmed"},
		{"handover missing a commitment", inHandover, ho(map[string]any{"commitments_acknowledged": []string{"c1"}}), "commitments not acknowledged: c2"},
		{"handover without scope ambiguities stated", inHandover, ho(map[string]any{"scope_ambiguities": nil}), "scope_ambiguities must be stated"},
		{"handover without resources", inHandover, ho(map[string]any{"resources_confirmed": false}), "resources_confirmed is not confirmed"},
		{"handover twice", inDelivery, ho(map[string]any{"scope_ambiguities": []string{"other"}}), "already signed off"},
		{"stage move during the handover", inHandover, step(deal.SigStage, map[string]string{"to": "closed_won", "by": dealtest.GM}), "only after the handover is signed off"},
		{"stage move to a stage not movable by hand", inDelivery, step(deal.SigStage, map[string]string{"to": "in_progress", "by": dealtest.PM}), "only to maintenance or closed_won"},
		{"stage move by the AE", inDelivery, step(deal.SigStage, map[string]string{"to": "maintenance", "by": dealtest.AE}), "only the PM U_PM or the GM U_GM"},
		{"incident before the deal is won", inClosing, step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "major", "status": "open", "title": "x"}), "once the deal is won"},
		{"incident of unknown severity", inDelivery, step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "meh", "status": "open", "title": "x"}), "severity must be"},
		{"new incident without title", inDelivery, step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "major", "status": "open"}), "needs a title"},
		{"fee in another currency", inDelivery, step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "invoiced", "amount": "10", "currency": "USD", "date": "2026-02-01"}), "deal's currency EUR"},
		{"fee of zero", inDelivery, step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "invoiced", "amount": "0", "currency": "EUR", "date": "2026-02-01"}), "must not be zero"},
		{"fee before the deal is won", inClosing, step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "invoiced", "amount": "10", "currency": "EUR", "date": "2026-02-01"}), "once the deal is won"},
		{"invoice with a malformed amount", inDelivery, dealtest.Invoice("i1", "travel", "12.x", "2026-02-01"), "payload does not decode"},
		{"invoice of zero", inDelivery, dealtest.Invoice("i1", "travel", "0", "2026-02-01"), "must not be zero"},
		{"invoice with an absurd amount", inDelivery, dealtest.Invoice("i1", "travel", "1000000000000", "2026-02-01"), "more than 12 integer digits"},
		{"negative invoice that is no credit note", inDelivery, dealtest.Invoice("i1", "travel", "-50", "2026-02-01"), "allowed only on a credit note"},
		{"foreign invoice without fx rate", inDelivery, step(deal.SigInvoice, map[string]string{"invoice_id": "i1", "category": "travel", "amount": "50", "currency": "USD", "date": "2026-02-01"}), "fx_rate is required"},
		{"invoice of unknown category", inDelivery, dealtest.Invoice("i1", "snacks", "50", "2026-02-01"), "category must be one of"},
		{"change order from an outsider", inDelivery, step(deal.SigChangeOrder, map[string]string{"id": "co1", "amount": "10", "planned_cost": "5", "status": "pending", "by": "U_X"}), "come from the AE, PM or GM"},
		{"change order before the deal is won", inClosing, step(deal.SigChangeOrder, map[string]string{"id": "co1", "amount": "10", "planned_cost": "5", "status": "pending", "by": dealtest.AE}), "after the deal is won"},
		{"change order wiping out revenue", inDelivery, step(deal.SigChangeOrder, map[string]string{"id": "co1", "amount": "-100000", "planned_cost": "0", "status": "approved", "by": dealtest.GM}), "revenue to zero or below"},
		{"progress by the AE", inDelivery, step(deal.SigProgress, map[string]string{"pct_complete": "10", "by": dealtest.AE}), "only the PM U_PM"},
		{"progress over 100", inDelivery, step(deal.SigProgress, map[string]string{"pct_complete": "101", "by": dealtest.PM}), "at most 100"},
		{"a person that is not a Slack user id", inDiscovery, step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "date", "text": "x", "by": "U1> <!channel"}), "is not a Slack user id"},
		{"a NUL character in a field", inDiscovery, step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "date", "text": "x\x00", "by": dealtest.AE}), "text contains a NUL character"},
		{"an id longer than Slack can carry", inDiscovery, step(deal.SigCommitment, map[string]string{"id": strings.Repeat("c", 129), "kind": "date", "text": "x", "by": dealtest.AE}), "id is longer than 128 characters"},
		{"an amount with absurd precision", inDelivery, dealtest.Invoice("i1", "travel", "1e-400", "2026-02-01"), "more than 6 decimal places"},
		{"progress with absurd precision", inDelivery, step(deal.SigProgress, map[string]string{"pct_complete": "1e-400", "by": dealtest.PM}), "more than 2 decimal places"},
		{"two descoping change orders taking revenue below zero", at2(dealtest.ToDelivery(), step(deal.SigChangeOrder, map[string]string{"id": "co1", "amount": "-60000", "planned_cost": "0", "status": "approved", "by": dealtest.GM})),
			step(deal.SigChangeOrder, map[string]string{"id": "co2", "amount": "-60000", "planned_cost": "0", "status": "approved", "by": dealtest.GM}), "revenue to zero or below"},
		{"progress before delivery", inHandover, step(deal.SigProgress, map[string]string{"pct_complete": "10", "by": dealtest.PM}), "during delivery"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.setup(t)
			before, refusals, version := withoutRefusals(r), len(r.Refusals), r.Version
			res, eff := r.Apply(t0.Add(time.Hour), c.step.Signal, c.step.Payload)
			if res.Status != deal.Refused || !strings.Contains(res.Reason, c.reason) {
				t.Fatalf("got %+v, want refused with %q", res, c.reason)
			}
			if after := withoutRefusals(r); after != before {
				t.Errorf("a refused signal changed the record:\nbefore %s\nafter  %s", before, after)
			}
			if len(r.Refusals) != refusals+1 || r.Refusals[len(r.Refusals)-1].Reason != res.Reason || r.Version != version+1 {
				t.Errorf("refusal not recorded once: %+v", r.Refusals)
			}
			if len(eff.Notices) != 0 || len(eff.Snapshots) != 0 {
				t.Errorf("a refused signal had effects: %+v", eff)
			}
		})
	}
}

func TestStageTransitions(t *testing.T) {
	critical := func(status string) dealtest.Step {
		return step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "critical", "status": status, "title": "outage"})
	}
	stage := func(to, by string) dealtest.Step { return step(deal.SigStage, map[string]string{"to": to, "by": by}) }
	cases := []struct {
		name  string
		steps []dealtest.Step
		want  []deal.Stage
	}{
		{"presale tickets open one after the other", dealtest.ToClosing(),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing}},
		{"scoping waits for the client", dealtest.ToClosing()[:3], []deal.Stage{deal.Discovery, deal.Scoping}},
		{"lost from discovery", []dealtest.Step{step(deal.SigClose, map[string]string{"outcome": "lost", "by": dealtest.AE, "reason": "budget"})},
			[]deal.Stage{deal.Discovery, deal.ClosedLost}},
		{"won opens the handover, the PM's sign-off starts delivery", dealtest.ToDelivery(),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress}},
		{"a critical incident lays mitigation over delivery and lifts it", append(dealtest.ToDelivery(), critical("open"), critical("resolved")),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Mitigation, deal.InProgress}},
		{"resolving returns to maintenance when it was moved there meanwhile", append(dealtest.ToDelivery(), critical("open"), stage("maintenance", dealtest.PM), critical("resolved"), stage("closed_won", dealtest.GM)),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Mitigation, deal.Maintenance, deal.ClosedWon}},
		{"a critical incident during the handover does not skip the gate", append(append(dealtest.ToClosing(), dealtest.Won(), critical("open")), dealtest.Handover()),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Mitigation}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := at(t, c.steps...)
			var got []deal.Stage
			for _, h := range r.History {
				got = append(got, h.To)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("stages %v, want %v", got, c.want)
			}
		})
	}
}

func TestClosedWonRefusedWhileCriticalIncidentOpen(t *testing.T) {
	r := at(t, append(dealtest.ToDelivery(), step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "critical", "status": "open", "title": "down"}))...)
	res, _ := r.Apply(t0.Add(time.Hour), deal.SigStage, dealtest.JSON(map[string]string{"to": "closed_won", "by": dealtest.GM}))
	if res.Status != deal.Refused || !strings.Contains(res.Reason, "1 critical incident") {
		t.Fatalf("got %+v", res)
	}
}

func TestDuplicatesChangeNothing(t *testing.T) {
	cases := []struct {
		name  string
		setup []dealtest.Step
		again dealtest.Step
	}{
		{"the same internal approval twice", dealtest.ToClosing()[:3], dealtest.ToClosing()[2]},
		{"a sign-off of a closed ticket, repeated", dealtest.ToClosing()[:2], dealtest.ToClosing()[1]},
		{"a sign-off with the same id", []dealtest.Step{step(deal.SigSignoff, map[string]any{"id": "slack-1", "ticket": "discovery", "by": dealtest.Presales, "side": "internal", "decision": "changes_requested", "note": "more detail"})},
			step(deal.SigSignoff, map[string]any{"id": "slack-1", "ticket": "discovery", "by": dealtest.Presales, "side": "internal", "decision": "changes_requested", "note": "more detail"})},
		{"the same commitment", dealtest.ToClosing()[:1], dealtest.ToClosing()[0]},
		{"close won twice", append(dealtest.ToClosing(), dealtest.Won()), dealtest.Won()},
		{"the handover twice", dealtest.ToDelivery(), dealtest.Handover()},
		{"the same invoice", append(dealtest.ToDelivery(), dealtest.Invoice("i1", "travel", "50", "2026-02-01")), dealtest.Invoice("i1", "travel", "50.00", "2026-02-01")},
		{"the same fee", append(dealtest.ToDelivery(), step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "collected", "amount": "10", "currency": "EUR", "date": "2026-02-01"})),
			step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "collected", "amount": "10", "currency": "EUR", "date": "2026-02-01"})},
		{"the same incident status", append(dealtest.ToDelivery(), step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "minor", "status": "open", "title": "typo"})),
			step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "minor", "status": "open", "title": "typo"})},
		{"maintenance twice", append(dealtest.ToDelivery(), step(deal.SigStage, map[string]string{"to": "maintenance", "by": dealtest.PM})), step(deal.SigStage, map[string]string{"to": "maintenance", "by": dealtest.GM})},
		{"the same progress", append(dealtest.ToDelivery(), dealtest.Progress("40")), dealtest.Progress("40.0")},
		{"close lost re-sent after the deal ended", []dealtest.Step{step(deal.SigClose, map[string]string{"outcome": "lost", "by": dealtest.AE})},
			step(deal.SigClose, map[string]string{"outcome": "lost", "by": dealtest.AE})},
		{"an invoice re-sent after the deal ended", append(dealtest.ToDelivery(), dealtest.Invoice("i1", "travel", "50", "2026-02-01"), step(deal.SigStage, map[string]string{"to": "closed_won", "by": dealtest.GM})),
			dealtest.Invoice("i1", "travel", "50", "2026-02-01")},
		{"closed_won re-sent", append(dealtest.ToDelivery(), step(deal.SigStage, map[string]string{"to": "closed_won", "by": dealtest.GM})),
			step(deal.SigStage, map[string]string{"to": "closed_won", "by": dealtest.PM})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := at(t, c.setup...)
			before, _ := json.Marshal(r)
			res, eff := r.Apply(t0.Add(time.Hour), c.again.Signal, c.again.Payload)
			if res.Status != deal.Duplicate {
				t.Fatalf("got %+v, want duplicate", res)
			}
			if after, _ := json.Marshal(r); string(after) != string(before) {
				t.Errorf("a duplicate changed the record")
			}
			if len(eff.Notices)+len(eff.Snapshots) != 0 {
				t.Errorf("a duplicate had effects")
			}
		})
	}
}

func TestChangesRequestedSendsTheDeliverableBack(t *testing.T) {
	r := at(t, dealtest.ToClosing()[:3]...) // scoping approved internally, waiting for the client
	res, _ := r.Apply(t0.Add(time.Hour), deal.SigSignoff, dealtest.JSON(map[string]any{"ticket": "scoping", "by": dealtest.Presales,
		"side": "client", "decision": "changes_requested", "note": "client wants the mobile app in scope"}))
	if res.Status != deal.Accepted {
		t.Fatal(res)
	}
	if res, _ := r.Apply(t0.Add(2*time.Hour), dealtest.ToClosing()[3].Signal, dealtest.ToClosing()[3].Payload); res.Status != deal.Refused {
		t.Fatalf("client approval right after its own change request, without a new internal approval: %+v", res)
	}
	tk := r.OpenTicket()
	if tk == nil || tk.ID != "scoping" || tk.InternalApproved || tk.ClientApproved {
		t.Fatalf("scoping ticket %+v", tk)
	}
	// The owner approves the same deliverable again, then the client does:
	// neither is mistaken for a repeat, and the ticket closes.
	for i, st := range []dealtest.Step{dealtest.ToClosing()[2], dealtest.ToClosing()[3]} {
		if res, _ := r.Apply(t0.Add(time.Duration(3+i)*time.Hour), st.Signal, st.Payload); res.Status != deal.Accepted {
			t.Fatalf("approval %d after the change request: %+v", i, res)
		}
	}
	if r.Stage != deal.Proposal {
		t.Fatalf("stage %s, want proposal", r.Stage)
	}
}

func TestRefusedSignoffIDCanBeCorrected(t *testing.T) {
	r := at(t)
	bad := dealtest.JSON(map[string]any{"id": "click-1", "ticket": "discovery", "by": dealtest.Presales, "side": "internal", "decision": "approve"})
	if res, _ := r.Apply(t0.Add(time.Hour), deal.SigSignoff, bad); res.Status != deal.Refused {
		t.Fatalf("approval without deliverable: %+v", res)
	}
	good := dealtest.JSON(map[string]any{"id": "click-1", "ticket": "discovery", "by": dealtest.Presales, "side": "internal", "decision": "approve",
		"deliverable": map[string]string{"kind": "discovery_notes", "url": "https://docs.example.com/d"}})
	if res, _ := r.Apply(t0.Add(2*time.Hour), deal.SigSignoff, good); res.Status != deal.Accepted {
		t.Fatalf("the corrected sign-off under the same id: %+v", res)
	}
}

func TestApprovedChangeOrdersCountTogether(t *testing.T) {
	co := func(id, amount string) dealtest.Step {
		return step(deal.SigChangeOrder, map[string]string{"id": id, "amount": amount, "planned_cost": "0", "status": "approved", "by": dealtest.GM})
	}
	// +50k then -120k leaves 30k of revenue: allowed.
	r := at(t, append(dealtest.ToDelivery(), co("co1", "50000"))...)
	if res, _ := r.Apply(t0.Add(time.Hour), deal.SigChangeOrder, co("co2", "-120000").Payload); res.Status != deal.Accepted {
		t.Fatalf("%+v", res)
	}
	if got := r.Margin.Revenue.String(); got != "30000" {
		t.Fatalf("revenue %s", got)
	}
}

func TestCostsBeforeDeliveryAreCheckedAtHandover(t *testing.T) {
	// 60,000 of cost booked during the handover, nothing done yet: the
	// forecast is far under target the moment delivery starts.
	r := at(t, append(append(dealtest.ToClosing(), dealtest.Won(), dealtest.Invoice("i1", "subcontractor", "60000", "2026-01-05")), dealtest.Handover())...)
	if r.Stage != deal.Mitigation || r.AlertedMarginStatus() != deal.OffTrack || len(r.Alerts) != 1 {
		t.Fatalf("stage %s, alerted %s, %d alerts", r.Stage, r.AlertedMarginStatus(), len(r.Alerts))
	}
}

func TestTermsAreCheckedAtOpen(t *testing.T) {
	terms := dealtest.Terms("d 1", t0)
	terms.ContractValue = terms.ContractValue.Neg()
	terms.ClientSignoff = []string{"handover"}
	_, _, err := deal.Open(terms, t0)
	for _, want := range []string{"deal_id must not contain spaces", "contract_value must be positive", "client_signoff names \"handover\""} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	ok := dealtest.Terms("d1", t0)
	r, _, err := deal.Open(ok, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Terms.PlannedCost.String(); got != "70000" {
		t.Errorf("default planned cost %s, want 70000 (100000 at a 30%% target margin)", got)
	}
}
