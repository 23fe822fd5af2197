-- name: UpsertMarginSnapshot :exec
INSERT INTO margin_snapshots (deal_id, seq, taken_at, revenue, planned_cost, actual_cost, eac, pct_complete,
    current_margin_pct, forecast_margin_pct, target_margin_pct, drift_pts, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (deal_id, seq) DO NOTHING;

-- name: ListMarginSnapshots :many
SELECT * FROM margin_snapshots WHERE deal_id = $1 ORDER BY seq;

-- name: UpsertMarginAlert :exec
INSERT INTO margin_alerts (deal_id, alert_id, kind, from_status, to_status, at, revenue, actual_cost, eac,
    forecast_margin_pct, target_margin_pct, drift_pts, position)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
    CASE WHEN sqlc.arg(position)::int >= 0 THEN sqlc.arg(position)::int
         ELSE (SELECT COALESCE(max(position) + 1, 0) FROM margin_alerts a WHERE a.deal_id = $1) END)
ON CONFLICT (deal_id, alert_id) DO NOTHING;

-- name: ListMarginAlerts :many
SELECT * FROM margin_alerts WHERE deal_id = $1 ORDER BY position, at, alert_id;
