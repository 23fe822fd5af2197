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

-- name: LeaseSlackPost :one
-- Reserves a post before it is made, or finds the earlier reservation (in
-- doubt: an earlier attempt may have posted), and leases it to this attempt
-- until leased_until. No row: another attempt holds the lease.
INSERT INTO slack_posts (deal_id, notice_key, channel, leased_until) VALUES ($1, $2, $3, sqlc.arg(leased_until))
ON CONFLICT (deal_id, notice_key) DO UPDATE SET leased_until = EXCLUDED.leased_until
WHERE slack_posts.leased_until < now()
RETURNING *;

-- name: ReleaseSlackPost :exec
UPDATE slack_posts SET leased_until = '-infinity' WHERE deal_id = $1 AND notice_key = $2;

-- name: MarkSlackPostInDoubt :exec
-- Set just before the request goes out: from here until a clear answer, the
-- post may have reached Slack.
UPDATE slack_posts SET in_doubt = $3, attempts = attempts + CASE WHEN $3::boolean THEN 1 ELSE 0 END
WHERE deal_id = $1 AND notice_key = $2;
