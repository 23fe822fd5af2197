package dealtest

import (
	"slices"

	"dealflow/deal"
)

// Ask is a question to the AE.
func Ask(id, by, text string) Step {
	return Step{deal.SigQuestion, JSON(map[string]string{"id": id, "by": by, "text": text})}
}

// Reply is the AE's (or someone's) answer to a question.
func Reply(questionID, by, text string) Step {
	return Step{deal.SigAnswer, JSON(map[string]string{"question_id": questionID, "by": by, "text": text})}
}

// MergeQuestion upserts a question row as the store does: the text and the
// time asked stay as first written; an answer and an escalation, once
// there, stay.
func MergeQuestion(qs []deal.Question, q deal.Question) []deal.Question {
	i := slices.IndexFunc(qs, func(x deal.Question) bool { return x.ID == q.ID })
	if i < 0 {
		return append(qs, q)
	}
	old := qs[i]
	if q.Answer != nil && old.Answer == nil {
		old.Answer = q.Answer
	}
	if q.EscalatedAt != nil && old.EscalatedAt == nil {
		old.EscalatedAt = q.EscalatedAt
	}
	qs[i] = old
	return qs
}
