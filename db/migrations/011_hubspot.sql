-- The HubSpot bridge (package hubspot, docs/hubspot.md).

-- Every webhook event HubSpot sent, kept until it is applied. HubSpot does
-- not promise eventId is unique, so an event is known by all five keys; a
-- retried call inserts nothing new. occurred_at is HubSpot's milliseconds.
CREATE TABLE hubspot_events (
    portal_id         bigint NOT NULL,
    subscription_id   bigint NOT NULL,
    event_id          bigint NOT NULL,
    object_id         bigint NOT NULL,
    occurred_at       bigint NOT NULL,
    subscription_type text NOT NULL,
    property_name     text NOT NULL DEFAULT '',
    property_value    text NOT NULL DEFAULT '',
    change_source     text NOT NULL DEFAULT '',
    source_id         text NOT NULL DEFAULT '',
    app_id            bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    -- set once the event was applied (or found to need nothing); outcome
    -- says what was done, for ops
    applied_at        timestamptz,
    outcome           text NOT NULL DEFAULT '',
    attempts          integer NOT NULL DEFAULT 0,
    next_try_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portal_id, subscription_id, event_id, object_id, occurred_at)
);
CREATE INDEX hubspot_events_pending ON hubspot_events (occurred_at) WHERE applied_at IS NULL;

-- A HubSpot deal the bridge knows: waiting for terms or people (missing
-- lists what its last timeline note asked for), or opened as deal_id.
CREATE TABLE hubspot_deals (
    object_id      bigint PRIMARY KEY,
    deal_id        text NOT NULL UNIQUE,
    portal_id      bigint NOT NULL,
    state          text NOT NULL,
    missing        text NOT NULL DEFAULT '',
    -- the HubSpot user owning the deal when it opened: the AE, whose move
    -- to won or lost is the close
    owner_user_id  text NOT NULL DEFAULT '',
    -- occurredAt of the newest dealstage event applied: an older one that
    -- arrives late is stale
    stage_event_at bigint NOT NULL DEFAULT 0,
    -- the pipeline stage the mirror last wrote: it writes dealstage only
    -- when dealflow's stage maps to another one, never over a person's
    -- move still on its way here as an event
    shown_stage    text NOT NULL DEFAULT '',
    -- the term properties as the deal opened with them: an event carrying
    -- the same value (the deal's own creation) is no edit
    opened_with    jsonb NOT NULL DEFAULT '{}',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The mirror's outbox: one row per linked deal with changes HubSpot does
-- not show yet. SaveRows and TakeLedger bump seq in their own transaction;
-- the drainer reads the deal as it is then (the latest value wins) and
-- deletes the row only if seq did not move meanwhile.
CREATE TABLE hubspot_outbox (
    deal_id       text PRIMARY KEY REFERENCES hubspot_deals (deal_id) ON DELETE CASCADE,
    seq           bigint NOT NULL DEFAULT 1,
    pending_since timestamptz NOT NULL DEFAULT clock_timestamp(),
    next_try_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text NOT NULL DEFAULT ''
);
CREATE INDEX hubspot_outbox_due ON hubspot_outbox (pending_since, deal_id);

-- Timeline notes the bridge posted, by a key naming why (the event it
-- answers, or the missing list it asks for): an event applied again after
-- a failure does not post its note twice.
CREATE TABLE hubspot_notes (
    object_id bigint NOT NULL,
    note_key  text NOT NULL,
    note_id   text NOT NULL,
    posted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (object_id, note_key)
);
