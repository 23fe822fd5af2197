-- name: ListDealFilterOptions :one
-- Every value the deal list can be filtered by, for its drop-downs. The
-- pages read the record the activities wrote; they never ask a workflow.
SELECT
    COALESCE(array_agg(DISTINCT client ORDER BY client), '{}')::text[] AS clients,
    COALESCE(array_agg(DISTINCT ae ORDER BY ae), '{}')::text[] AS aes,
    COALESCE(array_agg(DISTINCT pm ORDER BY pm), '{}')::text[] AS pms
FROM deals;

-- name: ListWonDealIDsSince :many
-- The deals the early-warning report looks at: won since the start of its
-- window, oldest close first.
SELECT deal_id FROM deals
WHERE close_outcome = 'won' AND closed_at >= sqlc.arg(since)::timestamptz
ORDER BY closed_at, deal_id;
