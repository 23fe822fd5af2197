-- The notices a deal made, in order, until Slack has them. The workflow
-- writes each with the rows it follows (SaveRows) and sends them one by
-- one by their number, so a notice waits here, not in the workflow,
-- however long Slack is down, and a retry or the next run sends the same
-- one (docs/idempotency.md).
CREATE TABLE notices (
    deal_id    text NOT NULL,
    seq        bigint NOT NULL,
    body       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    PRIMARY KEY (deal_id, seq)
);
