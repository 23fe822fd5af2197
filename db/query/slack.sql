-- name: UpsertSlackMessage :exec
INSERT INTO slack_messages (deal_id, notice_key, channel, ts, kind, ticket_id)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (deal_id, notice_key) DO UPDATE SET channel = EXCLUDED.channel, ts = EXCLUDED.ts;

-- name: GetSlackMessage :one
SELECT * FROM slack_messages WHERE deal_id = $1 AND notice_key = $2;

-- name: ListSlackMessages :many
SELECT * FROM slack_messages WHERE deal_id = $1 ORDER BY posted_at, notice_key;
