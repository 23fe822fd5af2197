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

// at builds a deal that has gone through the given steps, failing the
// test if any of them is not accepted.
func at(t *testing.T, steps ...dealtest.Step) *dealtest.Deal {
	t.Helper()
	d, err := dealtest.Open(dealtest.Terms("d1", t0), t0)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if res := d.Send(t0.Add(time.Duration(i+1)*time.Minute), s.Signal, s.Payload); res.Status != deal.Accepted {
			t.Fatalf("setup step %d %s %s: %+v", i, s.Signal, s.Payload, res)
		}
	}
	return d
}

func step(signal string, v any) dealtest.Step {
	return dealtest.Step{Signal: signal, Payload: dealtest.JSON(v)}
}

func TestRefusalsChangeNothingElse(t *testing.T) {
	for _, c := range dealtest.RefusalCases() {
		t.Run(c.Name, func(t *testing.T) {
			d := at(t, c.Setup...)
			r := d.Record
			before, state, refusals, version := dealtest.WithoutRefusals(r), dealtest.StateWithoutRefusals(d.State), len(r.Refusals), r.Version
			res := d.Send(t0.Add(time.Hour), c.Step.Signal, c.Step.Payload)
			if res.Status != deal.Refused || !strings.Contains(res.Reason, c.Reason) {
				t.Fatalf("got %+v, want refused with %q", res, c.Reason)
			}
			if after := dealtest.WithoutRefusals(r); after != before {
				t.Errorf("a refused signal changed the record:\nbefore %s\nafter  %s", before, after)
			}
			if after := dealtest.StateWithoutRefusals(d.State); after != state {
				t.Errorf("a refused signal changed the state:\nbefore %s\nafter  %s", state, after)
			}
			if len(r.Refusals) != refusals+1 || r.Refusals[len(r.Refusals)-1].Reason != res.Reason || r.Version != version+1 {
				t.Errorf("refusal not recorded once: %+v", r.Refusals)
			}
		})
	}
}

func TestStageTransitions(t *testing.T) {
	for _, c := range dealtest.TransitionCases() {
		t.Run(c.Name, func(t *testing.T) {
			r := at(t, c.Steps...).Record
			var got []deal.Stage
			for _, h := range r.History {
				got = append(got, h.To)
			}
			if !reflect.DeepEqual(got, c.Want) {
				t.Fatalf("stages %v, want %v", got, c.Want)
			}
		})
	}
}

func TestClosedWonRefusedWhileCriticalIncidentOpen(t *testing.T) {
	d := at(t, append(dealtest.ToDelivery(), step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "critical", "status": "open", "title": "down"}))...)
	res := d.Send(t0.Add(time.Hour), deal.SigStage, dealtest.JSON(map[string]string{"to": "closed_won", "by": dealtest.GM}))
	if res.Status != deal.Refused || !strings.Contains(res.Reason, "1 critical incident") {
		t.Fatalf("got %+v", res)
	}
}

func TestDuplicatesChangeNothing(t *testing.T) {
	for _, c := range dealtest.DuplicateCases() {
		t.Run(c.Name, func(t *testing.T) {
			d := at(t, c.Setup...)
			before, _ := json.Marshal([]any{d.State, d.Record})
			res := d.Send(t0.Add(time.Hour), c.Step.Signal, c.Step.Payload)
			if res.Status != deal.Duplicate {
				t.Fatalf("got %+v, want duplicate", res)
			}
			if after, _ := json.Marshal([]any{d.State, d.Record}); string(after) != string(before) {
				t.Errorf("a duplicate changed the deal")
			}
		})
	}
}

func TestChangesRequestedSendsTheDeliverableBack(t *testing.T) {
	d := at(t, dealtest.ToClosing()[:3]...) // scoping approved internally, waiting for the client
	res := d.Send(t0.Add(time.Hour), deal.SigSignoff, dealtest.JSON(map[string]any{"ticket": "scoping", "by": dealtest.Presales,
		"side": "client", "decision": "changes_requested", "note": "client wants the mobile app in scope"}))
	if res.Status != deal.Accepted {
		t.Fatal(res)
	}
	if res := d.Send(t0.Add(2*time.Hour), dealtest.ToClosing()[3].Signal, dealtest.ToClosing()[3].Payload); res.Status != deal.Refused {
		t.Fatalf("client approval right after its own change request, without a new internal approval: %+v", res)
	}
	tk := d.State.OpenTicket()
	if tk == nil || tk.ID != "scoping" || tk.InternalApproved || tk.ClientApproved {
		t.Fatalf("scoping ticket %+v", tk)
	}
	// The owner approves the same deliverable again, then the client does:
	// neither is mistaken for a repeat, and the ticket closes.
	for i, st := range []dealtest.Step{dealtest.ToClosing()[2], dealtest.ToClosing()[3]} {
		if res := d.Send(t0.Add(time.Duration(3+i)*time.Hour), st.Signal, st.Payload); res.Status != deal.Accepted {
			t.Fatalf("approval %d after the change request: %+v", i, res)
		}
	}
	if d.State.Stage != deal.Proposal {
		t.Fatalf("stage %s, want proposal", d.State.Stage)
	}
}

func TestRefusedSignoffIDCanBeCorrected(t *testing.T) {
	d := at(t)
	bad := dealtest.JSON(map[string]any{"id": "click-1", "ticket": "discovery", "by": dealtest.Presales, "side": "internal", "decision": "approve"})
	if res := d.Send(t0.Add(time.Hour), deal.SigSignoff, bad); res.Status != deal.Refused {
		t.Fatalf("approval without deliverable: %+v", res)
	}
	good := dealtest.JSON(map[string]any{"id": "click-1", "ticket": "discovery", "by": dealtest.Presales, "side": "internal", "decision": "approve",
		"deliverable": map[string]string{"kind": "discovery_notes", "url": "https://docs.example.com/d"}})
	if res := d.Send(t0.Add(2*time.Hour), deal.SigSignoff, good); res.Status != deal.Accepted {
		t.Fatalf("the corrected sign-off under the same id: %+v", res)
	}
}

func TestApprovedChangeOrdersCountTogether(t *testing.T) {
	co := func(id, amount string) dealtest.Step {
		return step(deal.SigChangeOrder, map[string]string{"id": id, "amount": amount, "planned_cost": "0", "status": "approved", "by": dealtest.GM})
	}
	// +50k then -120k leaves 30k of revenue: allowed.
	d := at(t, append(dealtest.ToDelivery(), co("co1", "50000"))...)
	if res := d.Send(t0.Add(time.Hour), deal.SigChangeOrder, co("co2", "-120000").Payload); res.Status != deal.Accepted {
		t.Fatalf("%+v", res)
	}
	if got := d.State.Margin.Revenue.String(); got != "30000" {
		t.Fatalf("revenue %s", got)
	}
}

func TestCostsBeforeDeliveryAreCheckedAtHandover(t *testing.T) {
	// 60,000 of cost booked during the handover, nothing done yet: the
	// forecast is far under target the moment delivery starts.
	r := at(t, append(append(dealtest.ToClosing(), dealtest.Won(), dealtest.Invoice("i1", "subcontractor", "60000", "2026-01-05")), dealtest.Handover())...).Record
	if r.Stage != deal.Mitigation || r.AlertedMarginStatus() != deal.OffTrack || len(r.Alerts) != 1 {
		t.Fatalf("stage %s, alerted %s, %d alerts", r.Stage, r.AlertedMarginStatus(), len(r.Alerts))
	}
}

func TestTermsAreCheckedAtOpen(t *testing.T) {
	for _, c := range []struct {
		edit func(*deal.Terms)
		want string
	}{
		{func(t *deal.Terms) { t.DealID = "d 1" }, `deal_id "d 1" is not an id`},
		{func(t *deal.Terms) { t.ContractValue = t.ContractValue.Neg() }, "contract_value must be positive"},
		{func(t *deal.Terms) { t.ClientSignoff = []string{"handover"} }, `client_signoff must be one of discovery, scoping, proposal, pricing, not "handover"`},
	} {
		terms := dealtest.Terms("d1", t0)
		c.edit(&terms)
		if _, _, err := deal.Open(terms, t0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v does not say %q", err, c.want)
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

// A refused sign-off is kept on its ticket (its row in PostgreSQL) with the
// reason, but not its deliverable: a flood of refused bodies costs little.
func TestRefusedSignoffIsKeptOnItsTicket(t *testing.T) {
	d := at(t)
	body := strings.Repeat("b", 20000)
	res := d.Send(t0.Add(time.Hour), deal.SigSignoff, dealtest.JSON(map[string]any{"ticket": "discovery", "by": dealtest.AE,
		"side": "internal", "decision": "approve", "deliverable": map[string]string{"kind": "discovery_notes", "body": body}}))
	if res.Status != deal.Refused {
		t.Fatalf("%+v", res)
	}
	sos := d.Record.Tickets[0].Signoffs
	if len(sos) != 1 || !sos[0].Refused || !strings.Contains(sos[0].Reason, "only the ticket owner") || sos[0].Deliverable != nil {
		t.Fatalf("the ticket's sign-offs %+v", sos)
	}
	if d.State.Tickets[0].Signoffs != 1 || d.State.Tickets[0].Last != nil {
		t.Fatalf("the ticket's state %+v", d.State.Tickets[0])
	}
}

// TestClientSignsThroughLink: the client's own approval closes the ticket
// like one recorded on their behalf, and the record says who signed.
func TestClientSignsThroughLink(t *testing.T) {
	d := at(t, dealtest.ToClosing()[:3]...)
	if res := d.Send(t0.Add(time.Hour), deal.SigSignoff, dealtest.ClientSigned("scoping", "client", "approve", nil).Payload); res.Status != deal.Accepted {
		t.Fatalf("client approval through a link: %+v", res)
	}
	if d.State.Stage != deal.Proposal {
		t.Fatalf("the deal is at %s, want proposal", d.State.Stage)
	}
	sos := d.Record.Tickets[1].Signoffs
	last := sos[len(sos)-1]
	if c := last.Client; c == nil || c.Name != "Jane Doe" || c.Email != "jane@client.com" || c.LinkID != "L1" || last.By != dealtest.Presales || last.Side != "client" {
		t.Fatalf("the record holds %+v (client %+v), want Jane Doe's approval sent by the owner", last, last.Client)
	}
}

func TestValidEmail(t *testing.T) {
	for in, want := range map[string]bool{"jane@client.com": true, "jane.doe+deal@client.co.uk": true, "": false, "jane": false,
		"Jane <jane@client.com>": false, " jane@client.com": false, strings.Repeat("a", 250) + "@b.com": false} {
		if got := deal.ValidEmail(in); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestClientLinkDays(t *testing.T) {
	for _, c := range []struct {
		days *int
		want int
		bad  bool
	}{{nil, deal.DefaultClientLinkDays, false}, {ptr(1), 1, false}, {ptr(90), 90, false}, {ptr(0), 0, true}, {ptr(91), 0, true}} {
		terms := dealtest.Terms("d1", t0)
		terms.ClientLinkDays = c.days
		err := terms.Normalize()
		if c.bad {
			if err == nil || !strings.Contains(err.Error(), "client_link_days must be from 1 to 90") {
				t.Errorf("client_link_days %d: %v, want refused", *c.days, err)
			}
			continue
		}
		if err != nil || terms.ClientLinkTTL() != time.Duration(c.want)*24*time.Hour {
			t.Errorf("client_link_days %v: %v, lives %s", c.days, err, terms.ClientLinkTTL())
		}
	}
}

// An older change never overwrites a newer one: a late retry of an old
// click (acted_at before the recorded change) changes nothing, whatever
// order the changes arrive in.
func TestOlderChangesNeverOverwriteNewer(t *testing.T) {
	acted := func(min int) string { return t0.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
	incident := func(status, at string) dealtest.Step {
		return step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "major", "status": status, "title": "slow", "acted_at": at})
	}
	progress := func(pct, at string) dealtest.Step {
		return step(deal.SigProgress, map[string]string{"pct_complete": pct, "by": dealtest.PM, "acted_at": at})
	}
	for _, c := range []struct {
		name  string
		setup []dealtest.Step
		late  dealtest.Step
		check func(*dealtest.Deal) bool
	}{
		{"incident resolved, then open from an older click", []dealtest.Step{incident("open", acted(100)), incident("resolved", acted(120))},
			incident("open", acted(110)), func(d *dealtest.Deal) bool { return d.State.Incidents[0].Status == "resolved" }},
		{"progress 60, then 40 from an older report", []dealtest.Step{progress("40", acted(100)), progress("60", acted(120))},
			progress("40", acted(110)), func(d *dealtest.Deal) bool { return d.State.Progress.PctComplete.String() == "60" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := at(t, append(dealtest.ToDelivery(), c.setup...)...)
			before, _ := json.Marshal([]any{d.State, d.Record})
			res := d.Send(t0.Add(time.Hour), c.late.Signal, c.late.Payload)
			if res.Status != deal.Duplicate || !strings.Contains(res.Reason, "newer change") {
				t.Fatalf("the late change was answered %+v, want a duplicate naming the newer change", res)
			}
			if after, _ := json.Marshal([]any{d.State, d.Record}); string(after) != string(before) || !c.check(d) {
				t.Fatal("the late change changed the deal")
			}
		})
	}
	// A newer change still applies: progress may go down when the PM says so later.
	d := at(t, append(dealtest.ToDelivery(), progress("60", acted(100)))...)
	if res := d.Send(t0.Add(time.Hour), deal.SigProgress, progress("50", acted(130)).Payload); res.Status != deal.Accepted {
		t.Fatalf("a newer, lower progress was answered %+v", res)
	}
}

// A repeat sent under another idempotency key (a retry through another
// source) is still a repeat: the key is not part of what was said.
func TestARepeatUnderAnotherKeyIsARepeat(t *testing.T) {
	d := at(t)
	c := map[string]string{"id": "c1", "kind": "discount", "text": "10% off", "by": dealtest.AE, "key": "first"}
	if res := d.Send(t0.Add(time.Hour), deal.SigCommitment, dealtest.JSON(c)); res.Status != deal.Accepted {
		t.Fatalf("first: %+v", res)
	}
	c["key"] = "second"
	if res := d.Send(t0.Add(2*time.Hour), deal.SigCommitment, dealtest.JSON(c)); res.Status != deal.Duplicate {
		t.Fatalf("the same commitment under another key: %+v, want duplicate", res)
	}
}
