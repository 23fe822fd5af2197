package deal

import (
	"slices"
	"time"
)

// Ask the AE: after the close the PM or the GM asks the AE what was sold,
// in writing, on the deal's record. A question the AE leaves unanswered for
// EscalateAfterBusinessDays is escalated to the GM, once. Sign 1 of the
// report ("PMs asking AEs what did you promise them?") counts these.

const (
	// MaxQuestions bounds the questions one deal records, so the state
	// stays bounded (TestStateWorstCaseSize).
	MaxQuestions = 50
	// MaxQuestionLen and MaxAnswerLen bound the text, in characters.
	MaxQuestionLen = 2000
	MaxAnswerLen   = 4000
	// EscalateAfterBusinessDays is how long the AE has to answer before
	// the GM is told.
	EscalateAfterBusinessDays = 2
)

// QuestionSignal asks the AE a question about the deal.
type QuestionSignal struct {
	Envelope
	ID   string `json:"id"`
	By   string `json:"by"`
	Text string `json:"text"`
}

// AnswerSignal is the AE's answer to one question; a question has one
// answer, so the question's id keys it.
type AnswerSignal struct {
	Envelope
	QuestionID string `json:"question_id"`
	By         string `json:"by"`
	Text       string `json:"text"`
}

// QuestionState is what the workflow keeps of a question: enough to tell a
// repeat, to know who may answer, and when to escalate.
type QuestionState struct {
	ID        string    `json:"id"`
	Sum       string    `json:"sum"`
	By        string    `json:"by"`
	AskedAt   time.Time `json:"asked_at"`
	DueAt     time.Time `json:"due_at"`
	AnswerSum string    `json:"answer_sum,omitempty"`
	Escalated bool      `json:"escalated,omitempty"`
}

// Question is a question with its answer as the record holds it.
type Question struct {
	ID          string     `json:"id"`
	By          string     `json:"by"`
	Text        string     `json:"text"`
	AskedAt     time.Time  `json:"asked_at"`
	DueAt       time.Time  `json:"due_at"`
	Answer      *Answer    `json:"answer,omitempty"`
	EscalatedAt *time.Time `json:"escalated_at,omitempty"`
}

type Answer struct {
	By   string    `json:"by"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Answered is true once the AE answered.
func (q Question) Answered() bool { return q.Answer != nil }

func (s *State) question(id string) *QuestionState {
	for i := range s.Questions {
		if s.Questions[i].ID == id {
			return &s.Questions[i]
		}
	}
	return nil
}

func (a *applier) question(q QuestionSignal) error {
	s := a.s
	q.Envelope = Envelope{} // the digest is of what was asked, whatever the key
	sum := digest(q)
	if old := s.question(q.ID); old != nil {
		if old.Sum == sum {
			return errDuplicate
		}
		return refuse("question %s is already asked with other content; ask again under a new id", q.ID)
	}
	p := s.Terms.People
	if q.By != p.PM && q.By != p.GM {
		return refuse("only the PM %s or the GM %s asks the AE, not %q", p.PM, p.GM, q.By)
	}
	if s.Close == nil || s.Close.Outcome != "won" {
		return refuse("the AE is asked after the deal is won; it is at %s", s.Stage)
	}
	if len(s.Questions) >= MaxQuestions {
		return refuse("a deal records at most %d questions; put related ones together", MaxQuestions)
	}
	cal, err := s.Terms.Calendar()
	if err != nil {
		return refuse("%s", err)
	}
	due := cal.AddBusinessDays(a.now, EscalateAfterBusinessDays)
	s.Questions = append(s.Questions, QuestionState{ID: q.ID, Sum: sum, By: q.By, AskedAt: a.now, DueAt: due})
	row := Question{ID: q.ID, By: q.By, Text: q.Text, AskedAt: a.now, DueAt: due}
	a.effects.Rows.Questions = append(a.effects.Rows.Questions, row)
	a.notify(Notice{Kind: NoticeQuestionAsked, Question: &row})
	return nil
}

func (a *applier) answer(an AnswerSignal) error {
	s := a.s
	q := s.question(an.QuestionID)
	if q == nil {
		return refuse("no question %q on this deal", an.QuestionID)
	}
	an.Envelope = Envelope{} // the digest is of the answer, whatever the key
	sum := digest(an)
	switch {
	case q.AnswerSum == sum:
		return errDuplicate
	case an.By != s.Terms.People.AE:
		return refuse("only the AE %s answers, not %q", s.Terms.People.AE, an.By)
	case q.AnswerSum != "":
		return refuse("question %s is already answered; ask a new question to go on", q.ID)
	}
	q.AnswerSum = sum
	// The row carries the question's own fields only as keys: the writer
	// keeps the text PostgreSQL holds (see db.SaveRows).
	row := Question{ID: q.ID, By: q.By, AskedAt: q.AskedAt, DueAt: q.DueAt, Answer: &Answer{By: an.By, Text: an.Text, At: a.now}}
	a.effects.Rows.Questions = append(a.effects.Rows.Questions, row)
	a.notify(Notice{Kind: NoticeQuestionAnswered, Question: &row})
	return nil
}

// NextEscalation is when the oldest unanswered question not yet escalated
// falls due; zero when there is none. The workflow sleeps until then.
func (s *State) NextEscalation() time.Time {
	var next time.Time
	if s.Stage.IsFinal() {
		return next
	}
	for _, q := range s.Questions {
		if q.AnswerSum == "" && !q.Escalated && (next.IsZero() || q.DueAt.Before(next)) {
			next = q.DueAt
		}
	}
	return next
}

// Escalate tells the GM of every question unanswered past its due time,
// once each. Nothing happens after the deal ended: no one is left to act.
func (s *State) Escalate(now time.Time) Effects {
	a := &applier{s: s, now: now}
	if s.Stage.IsFinal() {
		return Effects{}
	}
	for i := range s.Questions {
		q := &s.Questions[i]
		if q.AnswerSum != "" || q.Escalated || now.Before(q.DueAt) {
			continue
		}
		q.Escalated = true
		at := now
		row := Question{ID: q.ID, By: q.By, AskedAt: q.AskedAt, DueAt: q.DueAt, EscalatedAt: &at}
		a.effects.Rows.Questions = append(a.effects.Rows.Questions, row)
		a.notify(Notice{Kind: NoticeQuestionEscalated, Question: &row})
	}
	if len(a.effects.Rows.Questions) > 0 {
		s.Version++
	}
	return a.effects
}

// OpenQuestions counts questions the AE has not answered.
func (r *Record) OpenQuestions() int {
	return len(slices.DeleteFunc(slices.Clone(r.Questions), Question.Answered))
}
