package deal_test

import (
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

func TestAddBusinessDays(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	holidays := []deal.Date{deal.NewDate(2026, 12, 24), deal.NewDate(2026, 12, 25)}
	cases := []struct {
		name, zone string
		from, want time.Time
	}{
		{"Monday to Wednesday", "", time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)},
		{"Friday to Tuesday, same time of day", "", time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC), time.Date(2026, 12, 8, 15, 0, 0, 0, time.UTC)},
		{"Saturday counts from Monday midnight", "", time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)},
		{"holidays are skipped", "", time.Date(2026, 12, 23, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 29, 9, 0, 0, 0, time.UTC)},
		{"asked on a holiday", "", time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 30, 0, 0, 0, 0, time.UTC)},
		// Friday 23:30 UTC is already Saturday in Berlin: the count starts
		// at Monday midnight there, 23:00 UTC on Sunday.
		{"the firm's time zone decides the day", "Europe/Berlin", time.Date(2026, 12, 4, 23, 30, 0, 0, time.UTC), time.Date(2026, 12, 9, 0, 0, 0, 0, berlin)},
		{"across a DST change, same wall clock", "Europe/Berlin", time.Date(2026, 3, 27, 9, 0, 0, 0, berlin), time.Date(2026, 3, 31, 9, 0, 0, 0, berlin)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cal, err := deal.NewCalendar(c.zone, holidays)
			if err != nil {
				t.Fatal(err)
			}
			if got := cal.AddBusinessDays(c.from, 2); !got.Equal(c.want) {
				t.Fatalf("2 business days after %s: %s, want %s", c.from, got, c.want)
			}
		})
	}
	if _, err := deal.NewCalendar("Mars/Olympus", nil); err == nil {
		t.Fatal("an unknown time zone was taken")
	}
}

func TestTermsRefuseABadTimeZone(t *testing.T) {
	terms := dealtest.Terms("d1", t0)
	terms.TimeZone = "Europe/Atlantis"
	if err := terms.Normalize(); err == nil {
		t.Fatal("a deal opened with an unknown time zone")
	}
}

// TestAskAnswerEscalate walks the rules: a question is due two business
// days later, escalates once when unanswered, and an answer stops it.
func TestAskAnswerEscalate(t *testing.T) {
	d := at(t, dealtest.ToDelivery()...)
	fri := time.Date(2026, 1, 9, 15, 0, 0, 0, time.UTC) // a Friday
	if res := d.Send(fri, dealtest.Ask("q1", dealtest.PM, "Which integrations did you promise?").Signal, dealtest.Ask("q1", dealtest.PM, "Which integrations did you promise?").Payload); res.Status != deal.Accepted {
		t.Fatalf("ask: %+v", res)
	}
	if n := d.Effects.Notices; len(n) != 1 || n[0].Kind != deal.NoticeQuestionAsked || n[0].Question.Text != "Which integrations did you promise?" {
		t.Fatalf("ask notices: %+v", n)
	}
	q2 := dealtest.Ask("q2", dealtest.GM, "And the go-live date?")
	if res := d.Send(fri.Add(time.Hour), q2.Signal, q2.Payload); res.Status != deal.Accepted {
		t.Fatalf("ask q2: %+v", res)
	}
	due := time.Date(2026, 1, 13, 15, 0, 0, 0, time.UTC)
	if got := d.State.NextEscalation(); !got.Equal(due) {
		t.Fatalf("next escalation %s, want Tuesday %s", got, due)
	}
	d.Escalate(due.Add(-time.Second))
	if len(d.Effects.Notices) != 0 {
		t.Fatalf("escalated early: %+v", d.Effects.Notices)
	}
	a2 := dealtest.Reply("q2", dealtest.AE, "1 March, in the SOW's annex")
	if res := d.Send(due.Add(-time.Minute), a2.Signal, a2.Payload); res.Status != deal.Accepted {
		t.Fatalf("answer: %+v", res)
	}
	if n := d.Effects.Notices; len(n) != 1 || n[0].Kind != deal.NoticeQuestionAnswered || n[0].Question.By != dealtest.GM {
		t.Fatalf("answer notices: %+v", n)
	}
	d.Escalate(due.Add(2 * time.Hour))
	if n := d.Effects.Notices; len(n) != 1 || n[0].Kind != deal.NoticeQuestionEscalated || n[0].Question.ID != "q1" {
		t.Fatalf("escalation notices: %+v", n)
	}
	d.Escalate(due.Add(3 * time.Hour))
	if len(d.Effects.Notices) != 0 || !d.State.NextEscalation().IsZero() {
		t.Fatalf("escalated twice: %+v", d.Effects.Notices)
	}
	r := d.Record
	if len(r.Questions) != 2 || r.Questions[0].EscalatedAt == nil || r.Questions[0].Answer != nil ||
		r.Questions[1].Answer == nil || r.Questions[1].Text != "And the go-live date?" || r.OpenQuestions() != 1 {
		t.Fatalf("record questions: %+v", r.Questions)
	}
	// The AE may still answer after the escalation.
	a1 := dealtest.Reply("q1", dealtest.AE, "Only the CRM export")
	if res := d.Send(due.Add(4*time.Hour), a1.Signal, a1.Payload); res.Status != deal.Accepted || r.OpenQuestions() != 0 {
		t.Fatalf("late answer: %+v", res)
	}
}
