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

-- name: ReserveSlackPost :one
-- Reserves a post before it is made, or finds the earlier reservation: a
-- reservation in doubt means an earlier attempt may have posted.
INSERT INTO slack_posts (deal_id, notice_key, channel) VALUES ($1, $2, $3)
ON CONFLICT (deal_id, notice_key) DO UPDATE SET attempts = slack_posts.attempts
RETURNING *;

-- name: MarkSlackPostInDoubt :exec
-- Set just before the request goes out: from here until a clear answer, the
-- post may have reached Slack.
UPDATE slack_posts SET in_doubt = $3, attempts = attempts + CASE WHEN $3::boolean THEN 1 ELSE 0 END
WHERE deal_id = $1 AND notice_key = $2;

-- name: LockSlackNotice :exec
-- Held on one connection around a post, so two attempts at one notice (an
-- old run still sending what the next run sends too) never both post.
SELECT pg_advisory_lock(hashtextextended('slack:' || sqlc.arg(deal_id)::text || '/' || sqlc.arg(notice_key)::text, 0));

-- name: UnlockSlackNotice :exec
SELECT pg_advisory_unlock(hashtextextended('slack:' || sqlc.arg(deal_id)::text || '/' || sqlc.arg(notice_key)::text, 0));
