-- name: UpsertDeal :execrows
-- A write carrying an older version than the stored one is dropped: the
-- row only ever moves forward.
INSERT INTO deals (
    deal_id, client, workstream, currency, contract_value, target_margin_pct, planned_cost,
    start_date, end_date, ae, presales, pricing_approver, pm, gm, slack_channel, client_signoff,
    margin_warn_pts, margin_critical_pts, margin_check_every, stage, base_stage, opened_at, close_outcome, close_by, close_reason, closed_at,
    pct_complete, progress_by, progress_at,
    margin_as_of, revenue, actual_cost, eac, current_margin, current_margin_pct, forecast_margin_pct,
    drift_pts, margin_status, alerted_status, pending_change_orders, fees_invoiced, fees_collected, fees_pending,
    open_incidents, margin_checks, version, client_link_days, updated_at
) VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
    $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,
    $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, now()
)
ON CONFLICT (deal_id) DO UPDATE SET
    client = EXCLUDED.client, workstream = EXCLUDED.workstream, currency = EXCLUDED.currency,
    contract_value = EXCLUDED.contract_value, target_margin_pct = EXCLUDED.target_margin_pct,
    planned_cost = EXCLUDED.planned_cost, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
    ae = EXCLUDED.ae, presales = EXCLUDED.presales, pricing_approver = EXCLUDED.pricing_approver,
    pm = EXCLUDED.pm, gm = EXCLUDED.gm, slack_channel = EXCLUDED.slack_channel, client_signoff = EXCLUDED.client_signoff,
    margin_warn_pts = EXCLUDED.margin_warn_pts, margin_critical_pts = EXCLUDED.margin_critical_pts,
    margin_check_every = EXCLUDED.margin_check_every,
    stage = EXCLUDED.stage, base_stage = EXCLUDED.base_stage, opened_at = EXCLUDED.opened_at,
    close_outcome = EXCLUDED.close_outcome, close_by = EXCLUDED.close_by, close_reason = EXCLUDED.close_reason,
    closed_at = EXCLUDED.closed_at, pct_complete = EXCLUDED.pct_complete, progress_by = EXCLUDED.progress_by,
    progress_at = EXCLUDED.progress_at, margin_as_of = EXCLUDED.margin_as_of, revenue = EXCLUDED.revenue,
    actual_cost = EXCLUDED.actual_cost, eac = EXCLUDED.eac, current_margin = EXCLUDED.current_margin,
    current_margin_pct = EXCLUDED.current_margin_pct, forecast_margin_pct = EXCLUDED.forecast_margin_pct,
    drift_pts = EXCLUDED.drift_pts, margin_status = EXCLUDED.margin_status, alerted_status = EXCLUDED.alerted_status,
    pending_change_orders = EXCLUDED.pending_change_orders, fees_invoiced = EXCLUDED.fees_invoiced,
    fees_collected = EXCLUDED.fees_collected, fees_pending = EXCLUDED.fees_pending,
    open_incidents = EXCLUDED.open_incidents, margin_checks = EXCLUDED.margin_checks, version = EXCLUDED.version,
    client_link_days = EXCLUDED.client_link_days, updated_at = now()
WHERE deals.version <= EXCLUDED.version;

-- name: GetDeal :one
SELECT * FROM deals WHERE deal_id = $1;

-- name: ListDeals :many
-- Empty filters match everything; a client's workstreams sort together.
SELECT * FROM deals
WHERE (sqlc.arg(client)::text = '' OR client = sqlc.arg(client))
  AND (sqlc.arg(ae)::text = '' OR ae = sqlc.arg(ae))
  AND (sqlc.arg(pm)::text = '' OR pm = sqlc.arg(pm))
  AND (sqlc.arg(stage)::text = '' OR stage = sqlc.arg(stage))
ORDER BY client, workstream, deal_id;

-- name: UpsertStageChange :exec
INSERT INTO stage_changes (deal_id, seq, from_stage, to_stage, at, by_user, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (deal_id, seq) DO NOTHING;

-- name: ListStageChanges :many
SELECT * FROM stage_changes WHERE deal_id = $1 ORDER BY seq;

-- name: UpsertTicket :exec
INSERT INTO tickets (deal_id, ticket_id, owner, deliverable_kind, client_signoff_required, status, opened_at,
    closed_at, internal_approved, client_approved, deliverable_body, deliverable_url, position, write_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
    CASE WHEN sqlc.arg(position)::int >= 0 THEN sqlc.arg(position)::int
         ELSE (SELECT COALESCE(max(position) + 1, 0) FROM tickets t WHERE t.deal_id = $1) END,
    sqlc.arg(write_version))
ON CONFLICT (deal_id, ticket_id) DO UPDATE SET
    owner = EXCLUDED.owner, status = EXCLUDED.status, closed_at = EXCLUDED.closed_at,
    internal_approved = EXCLUDED.internal_approved, client_approved = EXCLUDED.client_approved,
    write_version = EXCLUDED.write_version
-- a write from an older deal version (a late retry of an old run) changes nothing
WHERE tickets.write_version <= EXCLUDED.write_version;

-- name: SetTicketDeliverable :exec
UPDATE tickets SET deliverable_body = $3, deliverable_url = $4
WHERE deal_id = $1 AND ticket_id = $2 AND write_version <= sqlc.arg(write_version);

-- name: ListTickets :many
SELECT * FROM tickets WHERE deal_id = $1 ORDER BY position, opened_at, ticket_id;

-- name: UpsertSignoff :exec
INSERT INTO signoffs (deal_id, ticket_id, seq, signoff_id, by_user, side, decision, deliverable_kind,
    deliverable_body, deliverable_url, note, at, refused, reason, client_name, client_email, client_evidence, client_link_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (deal_id, ticket_id, seq) DO NOTHING;

-- name: ListSignoffs :many
SELECT * FROM signoffs WHERE deal_id = $1 ORDER BY ticket_id, seq;

-- name: UpsertCommitment :exec
INSERT INTO commitments (deal_id, commitment_id, kind, text, value, by_user, at, position)
VALUES ($1, $2, $3, $4, $5, $6, $7,
    CASE WHEN sqlc.arg(position)::int >= 0 THEN sqlc.arg(position)::int
         ELSE (SELECT COALESCE(max(position) + 1, 0) FROM commitments c WHERE c.deal_id = $1) END)
ON CONFLICT (deal_id, commitment_id) DO NOTHING;

-- name: ListCommitments :many
SELECT * FROM commitments WHERE deal_id = $1 ORDER BY position, at, commitment_id;

-- name: UpsertHandover :exec
INSERT INTO handovers (deal_id, pm, status, opened_at, signed_off_at, signed_off_by, deliverables_reviewed,
    commitments_acknowledged, scope_ambiguities, resources_confirmed, write_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (deal_id) DO UPDATE SET
    status = EXCLUDED.status, signed_off_at = EXCLUDED.signed_off_at, signed_off_by = EXCLUDED.signed_off_by,
    deliverables_reviewed = EXCLUDED.deliverables_reviewed, commitments_acknowledged = EXCLUDED.commitments_acknowledged,
    scope_ambiguities = EXCLUDED.scope_ambiguities, resources_confirmed = EXCLUDED.resources_confirmed,
    write_version = EXCLUDED.write_version
WHERE handovers.write_version <= EXCLUDED.write_version;

-- name: GetHandover :one
SELECT * FROM handovers WHERE deal_id = $1;

-- name: UpsertIncident :exec
INSERT INTO incidents (deal_id, incident_id, severity, status, title, opened_at, updated_at, position, write_version)
VALUES ($1, $2, $3, $4, $5, $6, $7,
    CASE WHEN sqlc.arg(position)::int >= 0 THEN sqlc.arg(position)::int
         ELSE (SELECT COALESCE(max(position) + 1, 0) FROM incidents i WHERE i.deal_id = $1) END,
    sqlc.arg(write_version))
ON CONFLICT (deal_id, incident_id) DO UPDATE SET
    -- an update without a title keeps the stored one
    severity = EXCLUDED.severity, status = EXCLUDED.status, title = COALESCE(NULLIF(EXCLUDED.title, ''), incidents.title),
    updated_at = EXCLUDED.updated_at, write_version = EXCLUDED.write_version
WHERE incidents.write_version <= EXCLUDED.write_version;

-- name: ListIncidents :many
SELECT * FROM incidents WHERE deal_id = $1 ORDER BY position, opened_at, incident_id;

-- name: UpsertFee :exec
INSERT INTO client_fees (deal_id, fee_id, kind, amount, currency, fee_date, position)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (deal_id, fee_id) DO NOTHING;

-- name: ListFees :many
SELECT * FROM client_fees WHERE deal_id = $1 ORDER BY position, fee_date, fee_id;

-- name: UpsertInvoice :exec
INSERT INTO cost_invoices (deal_id, invoice_id, category, amount, currency, fx_rate, deal_amount, invoice_date,
    supplier, memo, credit, received_at, position)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (deal_id, invoice_id) DO NOTHING;

-- name: ListInvoices :many
SELECT * FROM cost_invoices WHERE deal_id = $1 ORDER BY position, received_at, invoice_id;

-- name: UpsertChangeOrder :exec
INSERT INTO change_orders (deal_id, change_order_id, amount, planned_cost, status, by_user, at, position, write_version)
VALUES ($1, $2, $3, $4, $5, $6, $7,
    CASE WHEN sqlc.arg(position)::int >= 0 THEN sqlc.arg(position)::int
         ELSE (SELECT COALESCE(max(position) + 1, 0) FROM change_orders c WHERE c.deal_id = $1) END,
    sqlc.arg(write_version))
ON CONFLICT (deal_id, change_order_id) DO UPDATE SET
    amount = EXCLUDED.amount, planned_cost = EXCLUDED.planned_cost, status = EXCLUDED.status,
    by_user = EXCLUDED.by_user, at = EXCLUDED.at, write_version = EXCLUDED.write_version
WHERE change_orders.write_version <= EXCLUDED.write_version;

-- name: ListChangeOrders :many
SELECT * FROM change_orders WHERE deal_id = $1 ORDER BY position, at, change_order_id;

-- name: UpsertRefusal :exec
INSERT INTO refusals (deal_id, seq, signal, reason, payload, at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (deal_id, seq) DO NOTHING;

-- name: ListRefusals :many
-- The newest refusals, oldest of them first.
SELECT * FROM (SELECT * FROM refusals r WHERE r.deal_id = $1 ORDER BY seq DESC LIMIT sqlc.arg(newest)) newest ORDER BY seq;

-- name: ClaimDeal :one
-- Writes a new deal's row, or hands an existing one to the run chain that
-- owns it. Answers the chain that owns the id: another chain's id means
-- the deal id is taken.
INSERT INTO deals (
    deal_id, client, workstream, currency, contract_value, target_margin_pct, planned_cost,
    start_date, end_date, ae, presales, pricing_approver, pm, gm, slack_channel, client_signoff,
    margin_warn_pts, margin_critical_pts, margin_check_every, stage, opened_at,
    margin_as_of, revenue, actual_cost, eac, current_margin, current_margin_pct, forecast_margin_pct,
    drift_pts, margin_status, alerted_status, pending_change_orders, fees_invoiced, fees_collected, fees_pending,
    version, first_run_id, late_cost_days, client_link_days
) VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
    $22, $23, 0, $24, $23, $25, $26, $27, 'on_track', 'on_track', 0, 0, 0, 0, 0, sqlc.arg(first_run_id), sqlc.arg(late_cost_days),
    sqlc.arg(client_link_days)
)
ON CONFLICT (deal_id) DO UPDATE SET first_run_id = EXCLUDED.first_run_id WHERE deals.first_run_id = ''
RETURNING first_run_id;

-- name: DealCurrencies :many
SELECT deal_id, currency FROM deals WHERE deal_id = ANY(sqlc.arg(ids)::text[]);

-- name: GetDealOwner :one
SELECT first_run_id, opened_at FROM deals WHERE deal_id = $1;

-- name: SaveDealState :execrows
-- The deal's state columns as the workflow last knew them; an older
-- version never overwrites a newer one.
UPDATE deals SET
    stage = $2, base_stage = $3, close_outcome = $4, close_by = $5, close_reason = $6, closed_at = $7,
    pct_complete = $8, progress_by = $9, progress_at = $10,
    margin_as_of = $11, revenue = $12, actual_cost = $13, eac = $14, current_margin = $15, current_margin_pct = $16,
    forecast_margin_pct = $17, drift_pts = $18, margin_status = $19, alerted_status = $20, pending_change_orders = $21,
    -- the fee totals are the ledger's (TakeLedger writes them); a state
    -- written before a ledger batch must not take them back
    fees_pending = fees_invoiced - fees_collected, open_incidents = $22, margin_checks = $23,
    ended_at = $24, refusal_count = $25, health = $26, version = $27, updated_at = now()
WHERE deal_id = $1 AND version <= $27;

-- name: GetTicket :one
SELECT * FROM tickets WHERE deal_id = $1 AND ticket_id = $2;

-- name: ListTicketSignoffs :many
-- A ticket's newest sign-offs, oldest of them first.
SELECT * FROM (SELECT * FROM signoffs s WHERE s.deal_id = $1 AND s.ticket_id = $2 ORDER BY seq DESC LIMIT sqlc.arg(newest)) newest
ORDER BY seq;

-- name: DealVersion :one
-- The stored version, to say which write a stale one lost to.
SELECT version FROM deals WHERE deal_id = $1;
