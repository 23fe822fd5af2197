-- The client signs off in person through a signed link (issue #12).

-- Who signed through a link, and the evidence: empty when the owner
-- recorded the client's decision on their behalf.
ALTER TABLE signoffs
    ADD COLUMN client_name     text NOT NULL DEFAULT '',
    ADD COLUMN client_email    text NOT NULL DEFAULT '',
    ADD COLUMN client_evidence text NOT NULL DEFAULT '',
    ADD COLUMN client_link_id  text NOT NULL DEFAULT '';

-- How long a deal's client links live (terms, client_link_days).
ALTER TABLE deals ADD COLUMN client_link_days integer NOT NULL DEFAULT 14;

-- One link the owner sent the client. The token carries link_id and an
-- HMAC over the columns it binds (deal, ticket, deliverable digest,
-- expiry), so a row alone cannot be turned into a working link, and a
-- changed column breaks the link.
CREATE TABLE client_links (
    link_id            text PRIMARY KEY,
    deal_id            text NOT NULL,
    ticket_id          text NOT NULL,
    deliverable_digest text NOT NULL,
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    -- set once the deal took the client's decision
    used_at            timestamptz,
    decision           text NOT NULL DEFAULT '',
    revoked_at         timestamptz,
    revoked_by         text NOT NULL DEFAULT '',
    FOREIGN KEY (deal_id, ticket_id) REFERENCES tickets ON DELETE CASCADE
);
CREATE INDEX client_links_ticket ON client_links (deal_id, ticket_id, created_at);
