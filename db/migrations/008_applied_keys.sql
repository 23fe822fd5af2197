-- Every idempotency key a deal applied, with the first answer it gave: a
-- change sent again with the same key, however much later, gets that
-- answer and changes nothing (docs/idempotency.md).
CREATE TABLE applied_keys (
    deal_id    text NOT NULL,
    key        text NOT NULL,
    signal     text NOT NULL,
    status     text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    applied_at timestamptz NOT NULL,
    PRIMARY KEY (deal_id, key)
);
