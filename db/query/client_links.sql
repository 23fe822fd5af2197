-- name: InsertClientLink :exec
INSERT INTO client_links (link_id, deal_id, ticket_id, deliverable_digest, created_by, created_at, expires_at, approval_seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: LatestInternalApproval :one
-- The seq of the ticket's latest internal approval the deal took; a link
-- is bound to it.
SELECT COALESCE(max(seq), 0)::integer FROM signoffs
WHERE deal_id = $1 AND ticket_id = $2 AND side = 'internal' AND decision = 'approve' AND NOT refused;

-- name: GetClientLink :one
SELECT * FROM client_links WHERE link_id = $1;

-- name: ListClientLinks :many
SELECT * FROM client_links WHERE deal_id = $1 ORDER BY ticket_id, created_at, link_id;

-- name: ClaimClientLink :execrows
-- Takes a link for one decision before the deal hears of it, in the one
-- statement that checks it is live: a link used, revoked or expired at
-- this moment is not taken, and a revoke after it finds it used. PostgreSQL
-- locks the row, so of a use and a revoke racing exactly one wins.
UPDATE client_links SET used_at = $2, decision = $3
WHERE link_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2;

-- name: ReleaseClientLink :execrows
-- Gives back a claim whose decision did not reach the deal (Temporal
-- unreachable, or the deal refused it), so the client can send it again.
UPDATE client_links SET used_at = NULL, decision = '' WHERE link_id = $1 AND used_at = $2;

-- name: RevokeClientLink :execrows
-- Revokes one link of a deal; a used or already revoked link stays as it is.
UPDATE client_links SET revoked_at = $3, revoked_by = $4
WHERE link_id = $1 AND deal_id = $2 AND used_at IS NULL AND revoked_at IS NULL;

-- name: RevokeTicketClientLinks :execrows
-- Revokes every live link of a ticket.
UPDATE client_links SET revoked_at = $3, revoked_by = $4
WHERE deal_id = $1 AND ticket_id = $2 AND used_at IS NULL AND revoked_at IS NULL;
