package server

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"dealflow/activities"
	"dealflow/activities/slackfake"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// slackSession clicks through Slack as people would, counting the modals
// opened and the answers each person got.
type slackSession struct {
	t     *testing.T
	s     *Server
	fake  *slackfake.Server
	views int
	told  map[string]int
}

// open clicks a button that opens a modal, and returns the modal.
func (ss *slackSession) open(user string, msg slackfake.Message, actionID string) slackfake.Call {
	ss.t.Helper()
	slackClick(ss.t, ss.s, user, msg, actionID)
	ss.views++
	return slackNextView(ss.t, ss.fake, ss.views)
}

// submit submits a modal and returns what the clicker was told.
func (ss *slackSession) submit(user string, view slackfake.Call, in ...slackfake.Input) string {
	ss.t.Helper()
	slackInteract(ss.t, ss.s, slackfake.ViewSubmission(user, view, in...))
	return ss.answer(user)
}

// answer waits for the next ephemeral message to user.
func (ss *slackSession) answer(user string) string {
	ss.t.Helper()
	ss.told[user]++
	return slackNextEphemeral(ss.t, ss.fake, user, ss.told[user])
}

func (ss *slackSession) done(user, answer string) {
	ss.t.Helper()
	if !strings.HasPrefix(answer, ":white_check_mark: Done:") {
		ss.t.Fatalf("%s was told %q, want Done", user, answer)
	}
}

// askTheAE asks the AE from the handover messages: the GM from the
// channel's copy, the AE (refused) and the PM from the checklist; the AE
// answers the GM's question from the direct message the question came in.
func askTheAE(t *testing.T, ss *slackSession, id string, ho, ro slackfake.Message) {
	const ae, pm, gm = dealtest.AE, dealtest.PM, dealtest.GM
	text := func(s string) slackfake.Input {
		return slackfake.Input{BlockID: blockText, ActionID: actionText, Value: s}
	}
	ss.done(gm, ss.submit(gm, ss.open(gm, ro, activities.ActionAskAE), text("Is the March go-live in the SOW?")))
	slackClick(t, ss.s, ae, ho, activities.ActionAskAE)
	slackWantContains(t, "the AE asking themselves", ss.answer(ae), "Only <@U_PM> (PM) or <@U_GM> (GM) asks the AE")

	q := slackMessage(t, ss.fake, "the AE's question", func(m slackfake.Message) bool {
		_, ok := slackfake.FindButton(m.Blocks, activities.ActionAnswer)
		return ok
	})
	if q.Channel != "D"+ae {
		t.Fatalf("the question went to %s, want the AE's direct messages", q.Channel)
	}
	slackWantContains(t, "the AE's question", slackfake.Text(q.Blocks), "<@U_GM> asks you about")
	slackClick(t, ss.s, pm, q, activities.ActionAnswer)
	slackWantContains(t, "the PM answering", ss.answer(pm), "Only <@U_AE>, the AE, answers")
	view := ss.open(ae, q, activities.ActionAnswer)
	slackWantContains(t, "the answer modal", string(view.View), "Is the March go-live in the SOW?")
	ss.done(ae, ss.submit(ae, view, text("Yes: annex B, signed 2 March.")))
	a := slackMessage(t, ss.fake, "the GM's answer", func(m slackfake.Message) bool {
		return m.Channel == "D"+gm && strings.Contains(slackfake.Text(m.Blocks), "answered your question")
	})
	slackWantContains(t, "the GM's answer", slackfake.Text(a.Blocks), "Yes: annex B, signed 2 March.")
	slackMessage(t, ss.fake, "the answered question without its button", func(m slackfake.Message) bool {
		return m.TS == q.TS && len(slackfake.Buttons(m.Blocks)) == 0 && strings.Contains(slackfake.Text(m.Blocks), "Answered")
	})
	ss.done(pm, ss.submit(pm, ss.open(pm, ho, activities.ActionAskAE), text("Which SSO provider did you name?")))

	var rec *deal.Record
	dealtest.Eventually(t, "both questions on the record", func() bool {
		rec = slackRecord(t, ss.s, id)
		return len(rec.Questions) == 2
	})
	if q := rec.Questions[0]; q.By != gm || q.Answer == nil || q.Answer.By != ae || q.Answer.Text != "Yes: annex B, signed 2 March." {
		t.Fatalf("the GM's question on the record: %+v", q)
	}
	if q := rec.Questions[1]; q.By != pm || q.Answer != nil || q.Text != "Which SSO provider did you name?" {
		t.Fatalf("the PM's question on the record: %+v", q)
	}
}

func commitmentInputs(kind, text, value string) []slackfake.Input {
	return []slackfake.Input{
		{BlockID: blockKind, ActionID: actionKind, Type: "static_select", Selected: []string{kind}},
		{BlockID: blockText, ActionID: actionText, Value: text},
		{BlockID: blockValue, ActionID: actionValue, Value: value},
	}
}

// TestSlackWalksADealToDelivery takes a deal from discovery to in_progress
// with Slack clicks only: signed interaction requests to the worker's HTTP
// endpoint, against the fake Web API, a real Temporal dev server and
// PostgreSQL.
func TestSlackWalksADealToDelivery(t *testing.T) {
	s, fake := slackServer(t, nil)
	ss := &slackSession{t: t, s: s, fake: fake, told: map[string]int{}}
	const (
		pre, ae, pricer, pm = dealtest.Presales, dealtest.AE, dealtest.Pricing, dealtest.PM
	)
	id := "sl-walk"
	openDeal(t, s, dealtest.Terms(id, time.Now()))

	// Discovery: presales records a promise, then signs off with the notes.
	d := slackTicketMessage(t, fake, "discovery", activities.ActionApprove)
	slackWantContains(t, "discovery message", slackfake.Text(d.Blocks), "<@U_PRESALES> owns this ticket and delivers the *discovery notes*")
	ss.done(pre, ss.submit(pre, ss.open(pre, d, activities.ActionCommitment), commitmentInputs("discount", "10% off phase 2", "10%")...))
	ss.done(pre, ss.submit(pre, ss.open(pre, d, activities.ActionApprove), deliverable("https://docs.example.com/discovery")...))

	// Scoping needs the client: internal approval, the client asks for a
	// change, rework, approval again, and the client's approval recorded by
	// the owner.
	sc := slackTicketMessage(t, fake, "scoping", activities.ActionApprove)
	ss.done(pre, ss.submit(pre, ss.open(pre, sc, activities.ActionApprove), deliverable("https://docs.example.com/scoping-v1")...))
	sc = slackTicketMessage(t, fake, "scoping", activities.ActionClientApprove)
	ss.done(pre, ss.submit(pre, ss.open(pre, sc, activities.ActionClientChanges), slackfake.Input{BlockID: blockNote, ActionID: actionNote, Value: "Add SSO to the scope"}))
	sc = slackTicketMessage(t, fake, "scoping", activities.ActionApprove)
	slackWantContains(t, "scoping message after the client's change request", slackfake.Text(sc.Blocks), "asked for changes for the client")
	ss.done(pre, ss.submit(pre, ss.open(pre, sc, activities.ActionApprove), deliverable("https://docs.example.com/scoping-v2")...))
	sc = slackTicketMessage(t, fake, "scoping", activities.ActionClientApprove)
	ss.done(pre, ss.submit(pre, ss.open(pre, sc, activities.ActionClientApprove), deliverable("https://mail.example.com/client-ok")...))

	// Proposal: the AE promises a date and signs off.
	p := slackTicketMessage(t, fake, "proposal", activities.ActionApprove)
	ss.done(ae, ss.submit(ae, ss.open(ae, p, activities.ActionCommitment), commitmentInputs("date", "Go-live before March", "2027-03-01")...))
	ss.done(ae, ss.submit(ae, ss.open(ae, p, activities.ActionApprove), deliverable("https://docs.example.com/proposal")...))

	// Pricing.
	pr := slackTicketMessage(t, fake, "pricing", activities.ActionApprove)
	ss.done(pricer, ss.submit(pricer, ss.open(pricer, pr, activities.ActionApprove), deliverable("https://docs.example.com/pricing")...))

	// Closing: the AE clicks Won.
	cl := slackMessage(t, fake, "the closing message", func(m slackfake.Message) bool {
		_, ok := slackfake.FindButton(m.Blocks, activities.ActionCloseWon)
		return ok
	})
	slackClick(t, s, ae, cl, activities.ActionCloseWon)
	ss.done(ae, ss.answer(ae))

	// Handover: the PM has the checklist in a direct message, the channel
	// (and the AE in it) a read-only copy.
	ho := slackMessage(t, fake, "the PM's handover checklist", func(m slackfake.Message) bool {
		_, ok := slackfake.FindButton(m.Blocks, activities.ActionHandoverSignoff)
		return ok
	})
	if ho.Channel != "D"+pm {
		t.Fatalf("the checklist went to %s, want the PM's direct messages", ho.Channel)
	}
	ro := slackMessage(t, fake, "the channel's read-only checklist", func(m slackfake.Message) bool {
		return m.Channel == "C_DEALS" && strings.Contains(slackfake.Text(m.Blocks), "Read-only copy for <@U_AE>")
	})
	if b := slackfake.Buttons(ro.Blocks); len(b) != 1 || b[0].ActionID != activities.ActionAskAE {
		t.Fatalf("read-only copy has buttons %v, want Ask the AE only", b)
	}
	askTheAE(t, ss, id, ho, ro)
	rec := slackRecord(t, s, id)
	var cids []string
	for _, c := range rec.Commitments {
		cids = append(cids, c.ID)
	}
	for _, text := range []string{slackfake.Text(ho.Blocks), slackfake.Text(ro.Blocks)} {
		for _, want := range append([]string{"https://docs.example.com/discovery", "https://mail.example.com/client-ok", "https://docs.example.com/pricing"}, cids...) {
			slackWantContains(t, "handover checklist", text, want)
		}
	}

	// A checklist without resources confirmed is refused, and says why.
	view := ss.open(pm, ho, activities.ActionHandoverSignoff)
	checklist := []slackfake.Input{
		{BlockID: blockReviewed, ActionID: actionCheck, Type: "checkboxes", Selected: []string{"yes"}},
		{BlockID: blockAcksPref + "0", ActionID: actionAcks, Type: "checkboxes", Selected: optionValues(t, view, blockAcksPref+"0")},
		{BlockID: blockAmbig, ActionID: actionAmbig, Value: "Which SSO provider"},
	}
	slackWantContains(t, "incomplete checklist", ss.submit(pm, view, checklist...), "Not taken: the handover checklist is not complete: resources_confirmed is not confirmed")
	view = ss.open(pm, ho, activities.ActionHandoverSignoff)
	checklist = append(checklist, slackfake.Input{BlockID: blockResources, ActionID: actionCheck, Type: "checkboxes", Selected: []string{"yes"}})
	ss.done(pm, ss.submit(pm, view, checklist...))

	rec = slackRecord(t, s, id)
	if rec.Stage != deal.InProgress {
		t.Fatalf("stage %s, want in_progress", rec.Stage)
	}
	var stages []deal.Stage
	for _, c := range rec.History {
		stages = append(stages, c.To)
	}
	if want := []deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress}; !reflect.DeepEqual(stages, want) {
		t.Fatalf("stages %v, want %v", stages, want)
	}
	if len(rec.Commitments) != 2 || rec.Commitments[0].By != pre || rec.Commitments[1].By != ae {
		t.Fatalf("commitments %+v", rec.Commitments)
	}
	if got := rec.Handover.Checklist; !reflect.DeepEqual(got.CommitmentsAcknowledged, cids) || len(*got.ScopeAmbiguities) != 1 || rec.Handover.SignedOffBy != pm {
		t.Fatalf("handover %+v", rec.Handover)
	}
	if n := len(slackTicket(rec, "scoping").Signoffs); n != 4 {
		t.Fatalf("scoping has %d sign-offs, want 4 (approve, client changes, approve, client approve)", n)
	}

	// Every decision taken, every message settled: no buttons anywhere
	// but on the PM's question, which waits for the AE.
	dealtest.Eventually(t, "every message to lose its buttons", func() bool {
		for _, m := range fake.Messages() {
			if b := slackfake.Buttons(m.Blocks); len(b) > 0 && !(m.Channel == "D"+ae && b[0].ActionID == activities.ActionAnswer) {
				return false
			}
		}
		return true
	})
	for _, m := range fake.Messages() {
		switch {
		case m.TS == cl.TS:
			slackWantContains(t, "closing message", slackfake.Text(m.Blocks), "Closed *won* by <@U_AE>")
		case m.TS == ho.TS, m.TS == ro.TS:
			slackWantContains(t, "handover message", slackfake.Text(m.Blocks), "Handover signed off by <@U_PM>")
		}
	}

	// PostgreSQL holds what the workflow holds (stored fails the test
	// when the two never agree).
	stored(t, s, id)
	var posted int
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM slack_messages WHERE deal_id = $1", id).Scan(&posted); err != nil {
		t.Fatal(err)
	}
	if posted != len(fake.Messages()) {
		t.Fatalf("slack_messages has %d rows for %d posted messages", posted, len(fake.Messages()))
	}
}
