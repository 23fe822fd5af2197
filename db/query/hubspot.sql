-- name: InsertHubSpotEvent :execrows
-- A repeat of a stored event (same five keys) inserts nothing.
INSERT INTO hubspot_events (portal_id, subscription_id, event_id, object_id, occurred_at, subscription_type,
    property_name, property_value, change_source, source_id, app_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT DO NOTHING;

-- name: PendingHubSpotEvents :many
-- Events due, oldest occurrence first: HubSpot's order, not arrival's.
SELECT * FROM hubspot_events
WHERE applied_at IS NULL AND next_try_at <= now()
ORDER BY occurred_at, event_id
LIMIT sqlc.arg(max_events);

-- name: FinishHubSpotEvent :exec
UPDATE hubspot_events SET applied_at = now(), outcome = sqlc.arg(outcome), attempts = attempts + 1
WHERE portal_id = $1 AND subscription_id = $2 AND event_id = $3 AND object_id = $4 AND occurred_at = $5;

-- name: RetryHubSpotEvent :exec
UPDATE hubspot_events SET attempts = attempts + 1, outcome = sqlc.arg(outcome),
    next_try_at = now() + make_interval(secs => sqlc.arg(after_seconds)::float8)
WHERE portal_id = $1 AND subscription_id = $2 AND event_id = $3 AND object_id = $4 AND occurred_at = $5;

-- name: GetHubSpotDeal :one
SELECT * FROM hubspot_deals WHERE object_id = $1;

-- name: UpsertHubSpotDeal :exec
INSERT INTO hubspot_deals (object_id, deal_id, portal_id, state, missing, owner_user_id, opened_with)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (object_id) DO UPDATE SET state = EXCLUDED.state, missing = EXCLUDED.missing,
    owner_user_id = EXCLUDED.owner_user_id, opened_with = EXCLUDED.opened_with, updated_at = now();

-- name: SetHubSpotStageEvent :exec
UPDATE hubspot_deals SET stage_event_at = GREATEST(stage_event_at, sqlc.arg(occurred_at)::bigint), updated_at = now()
WHERE object_id = $1;

-- name: TouchHubSpotOutbox :exec
-- A linked deal changed: its mirror row is made or bumped. An unlinked
-- deal inserts nothing.
INSERT INTO hubspot_outbox (deal_id)
SELECT h.deal_id FROM hubspot_deals h WHERE h.deal_id = $1
ON CONFLICT (deal_id) DO UPDATE SET seq = hubspot_outbox.seq + 1;

-- name: DueHubSpotMirror :many
-- The deals due for the mirror, longest waiting first, as they are now.
-- The outbox rows are picked first, so a large outbox costs one sort, not
-- a join of every deal.
WITH due AS (
    SELECT * FROM hubspot_outbox WHERE next_try_at <= clock_timestamp()
    ORDER BY pending_since, deal_id LIMIT sqlc.arg(max_deals)
)
SELECT o.deal_id, o.seq, o.pending_since, o.attempts, h.object_id, h.shown_stage, d.stage, d.health, d.forecast_margin_pct,
    d.actual_cost, d.fees_collected, d.fees_pending, d.open_incidents,
    COALESCE(ho.signed_off_by, '')::text AS signed_off_by, ho.signed_off_at,
    COALESCE(NULLIF(p.real_name, ''), NULLIF(p.name, ''), '')::text AS signer_name
FROM due o
JOIN hubspot_deals h ON h.deal_id = o.deal_id
JOIN deals d ON d.deal_id = o.deal_id
LEFT JOIN handovers ho ON ho.deal_id = o.deal_id
LEFT JOIN people p ON p.user_id = ho.signed_off_by
ORDER BY o.pending_since, o.deal_id;

-- name: MirroredHubSpot :exec
-- The rows HubSpot now shows as read: gone unless changed meanwhile, in
-- which case they wait again from now.
WITH done AS (SELECT unnest(sqlc.arg(deal_ids)::text[]) AS deal_id, unnest(sqlc.arg(seqs)::bigint[]) AS seq),
gone AS (DELETE FROM hubspot_outbox o USING done WHERE o.deal_id = done.deal_id AND o.seq = done.seq)
UPDATE hubspot_outbox o SET pending_since = clock_timestamp(), attempts = 0, last_error = ''
FROM done WHERE o.deal_id = done.deal_id AND o.seq <> done.seq;

-- name: DelayHubSpotMirror :exec
-- A write HubSpot did not take: tried again after the delay, the change kept.
UPDATE hubspot_outbox SET attempts = attempts + 1, last_error = sqlc.arg(last_error),
    next_try_at = clock_timestamp() + make_interval(secs => sqlc.arg(after_seconds)::float8)
WHERE deal_id = ANY(sqlc.arg(deal_ids)::text[]);

-- name: HubSpotLag :one
-- How long the oldest change HubSpot does not show yet has waited, in
-- seconds (0: HubSpot shows everything).
SELECT COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(pending_since)), 0)::float8 AS lag_seconds FROM hubspot_outbox;

-- name: SetHubSpotShownStage :exec
UPDATE hubspot_deals SET shown_stage = $2 WHERE deal_id = $1;

-- name: HubSpotNotePosted :one
SELECT EXISTS (SELECT 1 FROM hubspot_notes WHERE object_id = $1 AND note_key = $2);

-- name: RecordHubSpotNote :exec
INSERT INTO hubspot_notes (object_id, note_key, note_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING;
