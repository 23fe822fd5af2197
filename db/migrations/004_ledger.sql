-- Version 2 of the deal workflow writes each list where it changes and
-- keeps the ledger here: PostgreSQL decides whether an invoice or fee id is
-- new, and holds the running totals the workflow reads back.

-- The first run of the workflow chain that owns the deal id: a second,
-- unrelated run under the same id is refused instead of mixed in.
ALTER TABLE deals
    ADD COLUMN first_run_id   text NOT NULL DEFAULT '',
    ADD COLUMN ended_at       timestamptz,
    -- days after the end during which late costs are taken (terms)
    ADD COLUMN late_cost_days integer NOT NULL DEFAULT 90,
    ADD COLUMN refusal_count  bigint NOT NULL DEFAULT 0,
    -- what keeps failing for this deal (a write, a notice), or ''
    ADD COLUMN health         text NOT NULL DEFAULT '',
    ADD COLUMN ledger_batches bigint NOT NULL DEFAULT 0,
    ADD COLUMN invoice_count  bigint NOT NULL DEFAULT 0,
    ADD COLUMN fee_count      bigint NOT NULL DEFAULT 0,
    ADD COLUMN cost_subcontractor numeric NOT NULL DEFAULT 0,
    ADD COLUMN cost_license       numeric NOT NULL DEFAULT 0,
    ADD COLUMN cost_travel        numeric NOT NULL DEFAULT 0,
    ADD COLUMN cost_internal      numeric NOT NULL DEFAULT 0;

-- The ledger batch that took each row, and who sent it (an intake job):
-- a retried batch finds its own rows and counts them as taken.
ALTER TABLE cost_invoices
    ADD COLUMN batch  bigint NOT NULL DEFAULT 0,
    ADD COLUMN source text NOT NULL DEFAULT '';
ALTER TABLE client_fees
    ADD COLUMN batch  bigint NOT NULL DEFAULT 0,
    ADD COLUMN source text NOT NULL DEFAULT '';

-- Totals of the rows version 1 wrote.
UPDATE deals d SET
    invoice_count = (SELECT count(*) FROM cost_invoices i WHERE i.deal_id = d.deal_id),
    cost_subcontractor = (SELECT COALESCE(sum(deal_amount), 0) FROM cost_invoices i WHERE i.deal_id = d.deal_id AND category = 'subcontractor'),
    cost_license = (SELECT COALESCE(sum(deal_amount), 0) FROM cost_invoices i WHERE i.deal_id = d.deal_id AND category = 'license'),
    cost_travel = (SELECT COALESCE(sum(deal_amount), 0) FROM cost_invoices i WHERE i.deal_id = d.deal_id AND category = 'travel'),
    cost_internal = (SELECT COALESCE(sum(deal_amount), 0) FROM cost_invoices i WHERE i.deal_id = d.deal_id AND category = 'internal'),
    fee_count = (SELECT count(*) FROM client_fees f WHERE f.deal_id = d.deal_id),
    refusal_count = (SELECT COALESCE(max(seq), 0) FROM refusals r WHERE r.deal_id = d.deal_id);

-- Refusals and sign-offs are read newest first, a page at a time.
CREATE INDEX refusals_newest ON refusals (deal_id, seq DESC);

-- Finance files too large to answer at once are taken as jobs: the rows
-- wait here, the IntakeWorkflow applies them deal by deal, and each row's
-- answer is written back for the status endpoint.
CREATE TABLE intake_jobs (
    job_id      text PRIMARY KEY,
    path        text NOT NULL,
    rows_total  integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE TABLE intake_rows (
    job_id     text NOT NULL REFERENCES intake_jobs ON DELETE CASCADE,
    row_no     integer NOT NULL,
    deal_id    text NOT NULL,
    invoice_id text NOT NULL,
    -- the invoice as JSON, '' when the row could not be read
    invoice    text NOT NULL,
    -- '' while waiting; then accepted, duplicate or refused
    status     text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, row_no)
);
CREATE INDEX intake_rows_waiting ON intake_rows (job_id, deal_id, row_no) WHERE status = '';
