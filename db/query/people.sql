-- name: ListPeople :many
SELECT user_id, name, real_name FROM people WHERE user_id = ANY(sqlc.arg(ids)::text[]);

-- name: UpsertPerson :exec
INSERT INTO people (user_id, name, real_name, fetched_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id) DO UPDATE SET name = EXCLUDED.name, real_name = EXCLUDED.real_name, fetched_at = EXCLUDED.fetched_at;

-- name: PeopleToFetch :many
-- The deals' people with no name cached, or one fetched before the given
-- time; never fetched first.
SELECT u.user_id::text AS user_id
FROM (SELECT DISTINCT unnest(ARRAY[ae, presales, pricing_approver, pm, gm]) AS user_id FROM deals) u
LEFT JOIN people p ON p.user_id = u.user_id
WHERE u.user_id <> '' AND (p.user_id IS NULL OR p.fetched_at < sqlc.arg(fetched_before))
ORDER BY p.fetched_at NULLS FIRST, u.user_id
LIMIT sqlc.arg(max_people);
