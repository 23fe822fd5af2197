package workflows

import (
	"slices"
	"testing"
	"time"

	"dealflow/activities"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// TestAskTheAEEscalatesAfterTwoBusinessDays runs Ask the AE through the
// workflow with time skipping: the PM and the GM ask, the AE answers one
// question, and the other is escalated to the GM once two business days of
// the deal's calendar have passed: Tuesday is a holiday there, so a
// question asked on Monday morning falls due on Thursday morning.
func TestAskTheAEEscalatesAfterTwoBusinessDays(t *testing.T) {
	p := newProtoRun(t)
	terms := dealtest.Terms(p.id, protoStart) // protoStart is a Monday, 09:00 UTC
	terms.TimeZone, terms.Holidays = "Europe/Berlin", []deal.Date{deal.NewDate(2026, 3, 3)}
	p.update(dealtest.ToDelivery()...)
	p.update(dealtest.Ask("q1", dealtest.PM, "Which integrations did you promise Globex?"),
		dealtest.Ask("q2", dealtest.GM, "Is the March go-live in writing?"),
		dealtest.Reply("q2", dealtest.AE, "Yes: annex B of the SOW."),
		dealtest.Ask("q1", dealtest.PM, "Which integrations did you promise Globex?"),
		dealtest.Reply("q1", dealtest.GM, "I think only the CRM."))
	asked := protoStart.Add(p.at - 4*time.Minute) // q1's update ran 4 steps ago
	due := time.Date(2026, 3, 5, asked.In(berlin(t)).Hour(), asked.Minute(), 0, 0, berlin(t))

	var beforeDue, afterDue *deal.Record
	p.env.RegisterDelayedCallback(func() { beforeDue = p.record() }, due.Add(-time.Minute).Sub(protoStart))
	p.env.RegisterDelayedCallback(func() { afterDue = p.record() }, due.Add(time.Hour).Sub(protoStart))
	p.env.RegisterDelayedCallback(p.env.CancelWorkflow, due.Add(2*time.Hour).Sub(protoStart))
	p.env.ExecuteWorkflow(DealWorkflow, Input{Terms: terms})

	n := len(dealtest.ToDelivery())
	want := append(repeat(deal.Accepted, n+3), deal.Duplicate, deal.Refused)
	if got := p.statuses(); !slices.Equal(got, want) {
		t.Fatalf("outcomes %+v", p.results)
	}
	if r := p.results[n+4].Reason; r != "only the AE U_AE answers, not \"U_GM\"" {
		t.Fatalf("answer by the GM refused with %q", r)
	}
	if beforeDue == nil || afterDue == nil {
		t.Fatal("the checks did not run")
	}
	q1 := beforeDue.Questions[0]
	if !q1.DueAt.Equal(due) || q1.EscalatedAt != nil || q1.Answer != nil {
		t.Fatalf("q1 before its deadline: %+v, want due %s", q1, due)
	}
	q1, q2 := afterDue.Questions[0], afterDue.Questions[1]
	if q1.EscalatedAt == nil || q1.EscalatedAt.Before(due) || q1.Text != "Which integrations did you promise Globex?" {
		t.Fatalf("q1 after its deadline: %+v", q1)
	}
	if q2.Answer == nil || q2.Answer.Text != "Yes: annex B of the SOW." || q2.EscalatedAt != nil {
		t.Fatalf("q2: %+v", q2)
	}
	var kinds []string
	var escalated, answered *activities.Notification
	for i, no := range p.notices {
		switch no.Notice.Kind {
		case deal.NoticeQuestionAsked:
			kinds = append(kinds, no.Notice.Kind+":"+no.Notice.Question.ID)
		case deal.NoticeQuestionAnswered:
			kinds = append(kinds, no.Notice.Kind+":"+no.Notice.Question.ID)
			answered = &p.notices[i]
		case deal.NoticeQuestionEscalated:
			kinds = append(kinds, no.Notice.Kind+":"+no.Notice.Question.ID)
			escalated = &p.notices[i]
		}
	}
	if want := []string{"question_asked:q1", "question_asked:q2", "question_answered:q2", "question_escalated:q1"}; !slices.Equal(kinds, want) {
		t.Fatalf("question notices %v, want %v", kinds, want)
	}
	// The notices read the question's text and answer from PostgreSQL.
	if answered.Notice.Question.Text != "Is the March go-live in writing?" || answered.Notice.Question.Answer == nil {
		t.Errorf("answer notice %+v", answered.Notice.Question)
	}
	if escalated.Notice.Question.Text != "Which integrations did you promise Globex?" {
		t.Errorf("escalation notice %+v", escalated.Notice.Question)
	}
}

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
