-- name: InsertClientLink :exec
INSERT INTO client_links (link_id, deal_id, ticket_id, deliverable_digest, created_by, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: GetClientLink :one
SELECT * FROM client_links WHERE link_id = $1;

-- name: ListClientLinks :many
SELECT * FROM client_links WHERE deal_id = $1 ORDER BY ticket_id, created_at, link_id;

-- name: UseClientLink :execrows
-- Marks a link used by the decision the deal took; a second use changes
-- nothing, so the first decision stays the one on the link.
UPDATE client_links SET used_at = $2, decision = $3 WHERE link_id = $1 AND used_at IS NULL;

-- name: RevokeClientLink :execrows
-- Revokes one link of a deal; a used or already revoked link stays as it is.
UPDATE client_links SET revoked_at = $3, revoked_by = $4
WHERE link_id = $1 AND deal_id = $2 AND used_at IS NULL AND revoked_at IS NULL;

-- name: RevokeTicketClientLinks :execrows
-- Revokes every live link of a ticket.
UPDATE client_links SET revoked_at = $3, revoked_by = $4
WHERE deal_id = $1 AND ticket_id = $2 AND used_at IS NULL AND revoked_at IS NULL;
