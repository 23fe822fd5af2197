-- Ask the AE (issue #23): questions the PM or GM asked the AE after the
-- close, with the AE's answer and the escalation to the GM. One row per
-- question, written when asked and completed when answered or escalated.
CREATE TABLE questions (
    deal_id      text NOT NULL REFERENCES deals ON DELETE CASCADE,
    question_id  text NOT NULL,
    asked_by     text NOT NULL,
    text         text NOT NULL,
    asked_at     timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,
    answer_by    text NOT NULL DEFAULT '',
    answer_text  text NOT NULL DEFAULT '',
    answered_at  timestamptz,
    escalated_at timestamptz,
    PRIMARY KEY (deal_id, question_id)
);
