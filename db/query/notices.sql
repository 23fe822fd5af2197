-- name: InsertNotice :exec
-- A notice keeps its first body: a rewrite of the same number (a retried
-- write, or an old run's late one) changes nothing.
INSERT INTO notices (deal_id, seq, body) VALUES ($1, $2, $3)
ON CONFLICT (deal_id, seq) DO NOTHING;

-- name: GetNotice :one
SELECT * FROM notices WHERE deal_id = $1 AND seq = $2;

-- name: MarkNoticeSent :exec
UPDATE notices SET sent_at = now() WHERE deal_id = $1 AND seq = $2 AND sent_at IS NULL;

-- name: CountUnsentNotices :one
SELECT count(*) FROM notices WHERE sent_at IS NULL;
