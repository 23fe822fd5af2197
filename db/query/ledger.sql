-- name: LockLedger :one
-- Taken at the start of every ledger batch: one batch of a deal at a time.
SELECT currency, ledger_batches, invoice_count, fee_count, cost_subcontractor, cost_license, cost_travel, cost_internal,
    fees_invoiced, fees_collected
FROM deals WHERE deal_id = $1 FOR UPDATE;

-- name: SetLedger :exec
UPDATE deals SET ledger_batches = GREATEST(ledger_batches, sqlc.arg(batch)::bigint), invoice_count = $2, fee_count = $3,
    cost_subcontractor = $4, cost_license = $5, cost_travel = $6, cost_internal = $7, fees_invoiced = $8, fees_collected = $9
WHERE deal_id = $1;

-- name: FindInvoices :many
SELECT invoice_id, category, amount, currency, fx_rate, deal_amount, invoice_date, supplier, memo, credit, batch, source
FROM cost_invoices WHERE deal_id = $1 AND invoice_id = ANY(sqlc.arg(ids)::text[]);

-- name: InsertInvoices :copyfrom
INSERT INTO cost_invoices (deal_id, invoice_id, category, amount, currency, fx_rate, deal_amount, invoice_date,
    supplier, memo, credit, received_at, position, batch, source)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15);

-- name: FindFees :many
SELECT fee_id, kind, amount, currency, fee_date, batch, source
FROM client_fees WHERE deal_id = $1 AND fee_id = ANY(sqlc.arg(ids)::text[]);

-- name: InsertFees :copyfrom
INSERT INTO client_fees (deal_id, fee_id, kind, amount, currency, fee_date, position, batch, source)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: ListInvoicesPage :many
-- The newest invoices of a deal, for pages that cannot show 50,000 rows.
SELECT * FROM (SELECT * FROM cost_invoices i WHERE i.deal_id = $1 ORDER BY position DESC LIMIT sqlc.arg(newest)) newest
ORDER BY position;
