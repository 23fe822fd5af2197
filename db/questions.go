package db

import (
	"context"

	"dealflow/db/dbq"
	"dealflow/deal"
)

// questionParams is one question row: asked, answered or escalated. The
// upsert keeps what was written first (see UpsertQuestion).
func questionParams(dealID string, q deal.Question) dbq.UpsertQuestionParams {
	p := dbq.UpsertQuestionParams{DealID: dealID, QuestionID: q.ID, AskedBy: q.By, Text: q.Text, AskedAt: q.AskedAt,
		DueAt: q.DueAt, EscalatedAt: q.EscalatedAt}
	if a := q.Answer; a != nil {
		at := a.At
		p.AnswerBy, p.AnswerText, p.AnsweredAt = a.By, a.Text, &at
	}
	return p
}

func questionOf(row dbq.Question) deal.Question {
	q := deal.Question{ID: row.QuestionID, By: row.AskedBy, Text: row.Text, AskedAt: row.AskedAt, DueAt: row.DueAt,
		EscalatedAt: row.EscalatedAt}
	if row.AnsweredAt != nil {
		q.Answer = &deal.Answer{By: row.AnswerBy, Text: row.AnswerText, At: *row.AnsweredAt}
	}
	return q
}

func loadQuestions(ctx context.Context, q *dbq.Queries, dealID string) ([]deal.Question, error) {
	rows, err := q.ListQuestions(ctx, dealID)
	if err != nil {
		return nil, err
	}
	out := make([]deal.Question, 0, len(rows))
	for _, row := range rows {
		out = append(out, questionOf(row))
	}
	return out, nil
}

// LoadQuestion reads one question of a deal, with its answer: what a
// notice about it shows.
func (s *Store) LoadQuestion(ctx context.Context, dealID, questionID string) (deal.Question, error) {
	row, err := s.Queries().GetQuestion(ctx, dbq.GetQuestionParams{DealID: dealID, QuestionID: questionID})
	if err != nil {
		return deal.Question{}, err
	}
	return questionOf(row), nil
}
