-- name: UpsertQuestion :exec
-- The row as first written keeps its question; an answer and an
-- escalation, once written, stay as they are (a retried write repeats them).
INSERT INTO questions (deal_id, question_id, asked_by, text, asked_at, due_at, answer_by, answer_text, answered_at, escalated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (deal_id, question_id) DO UPDATE SET
    answer_by    = CASE WHEN questions.answered_at IS NULL THEN EXCLUDED.answer_by ELSE questions.answer_by END,
    answer_text  = CASE WHEN questions.answered_at IS NULL THEN EXCLUDED.answer_text ELSE questions.answer_text END,
    answered_at  = COALESCE(questions.answered_at, EXCLUDED.answered_at),
    escalated_at = COALESCE(questions.escalated_at, EXCLUDED.escalated_at);

-- name: ListQuestions :many
SELECT * FROM questions WHERE deal_id = $1 ORDER BY asked_at, question_id;

-- name: GetQuestion :one
SELECT * FROM questions WHERE deal_id = $1 AND question_id = $2;
