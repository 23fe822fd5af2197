-- name: UpsertSlackMessage :exec
-- One row per posted message, keyed by the notice that posted it; channel
-- and ts are what chat.update needs later.
INSERT INTO slack_messages (deal_id, notice_key, channel, ts, kind, ticket_id, text, blocks)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (deal_id, notice_key) DO UPDATE SET channel = EXCLUDED.channel, ts = EXCLUDED.ts,
    text = EXCLUDED.text, blocks = EXCLUDED.blocks, updated_at = now();

-- name: GetSlackMessage :one
SELECT * FROM slack_messages WHERE deal_id = $1 AND notice_key = $2;

-- name: ListSlackMessages :many
SELECT * FROM slack_messages WHERE deal_id = $1 ORDER BY posted_at, notice_key;

-- name: FindSlackMessages :many
-- The messages about one thing (a ticket, the handover, the closing
-- decision), for updating them after a click.
SELECT * FROM slack_messages WHERE deal_id = $1 AND kind = $2 AND ticket_id = $3
ORDER BY posted_at, notice_key;

-- name: SetSlackMessageContent :exec
-- What a message shows after chat.update.
UPDATE slack_messages SET text = $3, blocks = $4, updated_at = now()
WHERE deal_id = $1 AND notice_key = $2;
