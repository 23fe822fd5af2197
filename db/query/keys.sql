-- name: InsertAppliedKey :exec
-- The first answer stays: a key is applied once.
INSERT INTO applied_keys (deal_id, key, signal, status, reason, applied_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (deal_id, key) DO NOTHING;

-- name: GetAppliedKey :one
SELECT * FROM applied_keys WHERE deal_id = $1 AND key = $2;
