-- The place of each row in the workflow's record, so reading a deal back
-- lists everything in the order the workflow holds it (dates and ids do
-- not: a change order's time moves when it is approved, "m10" sorts before
-- "m9").
ALTER TABLE tickets ADD COLUMN position integer NOT NULL DEFAULT 0;
ALTER TABLE commitments ADD COLUMN position integer NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN position integer NOT NULL DEFAULT 0;
ALTER TABLE client_fees ADD COLUMN position integer NOT NULL DEFAULT 0;
ALTER TABLE cost_invoices ADD COLUMN position integer NOT NULL DEFAULT 0;
ALTER TABLE change_orders ADD COLUMN position integer NOT NULL DEFAULT 0;
ALTER TABLE margin_alerts ADD COLUMN position integer NOT NULL DEFAULT 0;
