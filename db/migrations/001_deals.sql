-- The deal record as the workflow last wrote it. Every table is keyed by ids
-- the workflow assigns, so a retried write is an upsert of the same row.

CREATE TABLE deals (
    deal_id             text PRIMARY KEY,
    client              text NOT NULL,
    workstream          text NOT NULL,
    currency            text NOT NULL,
    contract_value      numeric NOT NULL,
    target_margin_pct   numeric NOT NULL,
    planned_cost        numeric NOT NULL,
    start_date          date NOT NULL,
    end_date            date NOT NULL,
    ae                  text NOT NULL,
    presales            text NOT NULL,
    pricing_approver    text NOT NULL,
    pm                  text NOT NULL,
    gm                  text NOT NULL,
    slack_channel       text NOT NULL DEFAULT '',
    client_signoff      text[] NOT NULL DEFAULT '{}',
    margin_warn_pts     numeric NOT NULL,
    margin_critical_pts numeric NOT NULL,
    margin_check_every  text NOT NULL DEFAULT '',
    stage               text NOT NULL,
    base_stage          text NOT NULL DEFAULT '',
    opened_at           timestamptz NOT NULL,
    close_outcome       text NOT NULL DEFAULT '',
    close_by            text NOT NULL DEFAULT '',
    close_reason        text NOT NULL DEFAULT '',
    closed_at           timestamptz,
    pct_complete        numeric,
    progress_by         text NOT NULL DEFAULT '',
    progress_at         timestamptz,
    -- the margin as of margin_as_of, the same figures as the record's margin
    margin_as_of        timestamptz NOT NULL,
    revenue             numeric NOT NULL,
    actual_cost         numeric NOT NULL,
    eac                 numeric NOT NULL,
    current_margin      numeric NOT NULL,
    current_margin_pct  numeric NOT NULL,
    forecast_margin_pct numeric NOT NULL,
    drift_pts           numeric NOT NULL,
    margin_status       text NOT NULL,
    alerted_status      text NOT NULL,
    pending_change_orders numeric NOT NULL,
    fees_invoiced       numeric NOT NULL,
    fees_collected      numeric NOT NULL,
    fees_pending        numeric NOT NULL,
    open_incidents      integer NOT NULL DEFAULT 0,
    margin_checks       bigint NOT NULL DEFAULT 0,
    version             bigint NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deals_client ON deals (client);
CREATE INDEX deals_ae ON deals (ae);
CREATE INDEX deals_pm ON deals (pm);

CREATE TABLE stage_changes (
    deal_id    text NOT NULL REFERENCES deals ON DELETE CASCADE,
    seq        integer NOT NULL,
    from_stage text NOT NULL,
    to_stage   text NOT NULL,
    at         timestamptz NOT NULL,
    by_user    text NOT NULL,
    reason     text NOT NULL,
    PRIMARY KEY (deal_id, seq)
);

CREATE TABLE tickets (
    deal_id           text NOT NULL REFERENCES deals ON DELETE CASCADE,
    ticket_id         text NOT NULL,
    owner             text NOT NULL,
    deliverable_kind  text NOT NULL,
    client_signoff_required boolean NOT NULL,
    status            text NOT NULL,
    opened_at         timestamptz NOT NULL,
    closed_at         timestamptz,
    internal_approved boolean NOT NULL,
    client_approved   boolean NOT NULL,
    deliverable_body  text NOT NULL DEFAULT '',
    deliverable_url   text NOT NULL DEFAULT '',
    PRIMARY KEY (deal_id, ticket_id)
);

CREATE TABLE signoffs (
    deal_id     text NOT NULL,
    ticket_id   text NOT NULL,
    seq         integer NOT NULL,
    signoff_id  text NOT NULL DEFAULT '',
    by_user     text NOT NULL,
    side        text NOT NULL,
    decision    text NOT NULL,
    deliverable_kind text NOT NULL DEFAULT '',
    deliverable_body text NOT NULL DEFAULT '',
    deliverable_url  text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    refused     boolean NOT NULL,
    reason      text NOT NULL DEFAULT '',
    PRIMARY KEY (deal_id, ticket_id, seq),
    FOREIGN KEY (deal_id, ticket_id) REFERENCES tickets ON DELETE CASCADE
);

CREATE TABLE commitments (
    deal_id       text NOT NULL REFERENCES deals ON DELETE CASCADE,
    commitment_id text NOT NULL,
    kind          text NOT NULL,
    text          text NOT NULL,
    value         text NOT NULL DEFAULT '',
    by_user       text NOT NULL,
    at            timestamptz NOT NULL,
    PRIMARY KEY (deal_id, commitment_id)
);

CREATE TABLE handovers (
    deal_id       text PRIMARY KEY REFERENCES deals ON DELETE CASCADE,
    pm            text NOT NULL,
    status        text NOT NULL,
    opened_at     timestamptz NOT NULL,
    signed_off_at timestamptz,
    signed_off_by text NOT NULL DEFAULT '',
    deliverables_reviewed    boolean NOT NULL,
    commitments_acknowledged text[] NOT NULL DEFAULT '{}',
    -- NULL while the PM has not stated them; '{}' when stated as none
    scope_ambiguities        text[],
    resources_confirmed      boolean NOT NULL
);

CREATE TABLE cost_invoices (
    deal_id     text NOT NULL REFERENCES deals ON DELETE CASCADE,
    invoice_id  text NOT NULL,
    category    text NOT NULL,
    amount      numeric NOT NULL,
    currency    text NOT NULL,
    fx_rate     numeric,
    deal_amount numeric NOT NULL,
    invoice_date date NOT NULL,
    supplier    text NOT NULL DEFAULT '',
    memo        text NOT NULL DEFAULT '',
    credit      boolean NOT NULL DEFAULT false,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (deal_id, invoice_id)
);

CREATE TABLE change_orders (
    deal_id      text NOT NULL REFERENCES deals ON DELETE CASCADE,
    change_order_id text NOT NULL,
    amount       numeric NOT NULL,
    planned_cost numeric NOT NULL,
    status       text NOT NULL,
    by_user      text NOT NULL,
    at           timestamptz NOT NULL,
    PRIMARY KEY (deal_id, change_order_id)
);

CREATE TABLE client_fees (
    deal_id  text NOT NULL REFERENCES deals ON DELETE CASCADE,
    fee_id   text NOT NULL,
    kind     text NOT NULL,
    amount   numeric NOT NULL,
    currency text NOT NULL,
    fee_date date NOT NULL,
    PRIMARY KEY (deal_id, fee_id)
);

CREATE TABLE incidents (
    deal_id     text NOT NULL REFERENCES deals ON DELETE CASCADE,
    incident_id text NOT NULL,
    severity    text NOT NULL,
    status      text NOT NULL,
    title       text NOT NULL,
    opened_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (deal_id, incident_id)
);

CREATE TABLE refusals (
    deal_id text NOT NULL REFERENCES deals ON DELETE CASCADE,
    seq     integer NOT NULL,
    signal  text NOT NULL,
    reason  text NOT NULL,
    payload text NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (deal_id, seq)
);

CREATE TABLE margin_snapshots (
    deal_id             text NOT NULL REFERENCES deals ON DELETE CASCADE,
    seq                 bigint NOT NULL,
    taken_at            timestamptz NOT NULL,
    revenue             numeric NOT NULL,
    planned_cost        numeric NOT NULL,
    actual_cost         numeric NOT NULL,
    eac                 numeric NOT NULL,
    pct_complete        numeric,
    current_margin_pct  numeric NOT NULL,
    forecast_margin_pct numeric NOT NULL,
    target_margin_pct   numeric NOT NULL,
    drift_pts           numeric NOT NULL,
    status              text NOT NULL,
    PRIMARY KEY (deal_id, seq)
);

CREATE TABLE margin_alerts (
    deal_id             text NOT NULL REFERENCES deals ON DELETE CASCADE,
    alert_id            text NOT NULL,
    kind                text NOT NULL,
    from_status         text NOT NULL,
    to_status           text NOT NULL,
    at                  timestamptz NOT NULL,
    revenue             numeric NOT NULL,
    actual_cost         numeric NOT NULL,
    eac                 numeric NOT NULL,
    forecast_margin_pct numeric NOT NULL,
    target_margin_pct   numeric NOT NULL,
    drift_pts           numeric NOT NULL,
    PRIMARY KEY (deal_id, alert_id)
);

-- Every Slack message posted for a deal, so it can be updated once acted on.
CREATE TABLE slack_messages (
    deal_id    text NOT NULL,
    notice_key text NOT NULL,
    channel    text NOT NULL,
    ts         text NOT NULL,
    kind       text NOT NULL,
    ticket_id  text NOT NULL DEFAULT '',
    posted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (deal_id, notice_key)
);
