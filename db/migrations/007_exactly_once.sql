-- Exactly once where people see it (issue #19).

-- Rows a deal changes in place carry the deal version that last wrote
-- them: an upsert from an older version (a late write of an old run)
-- changes nothing. Rows that are only ever inserted (sign-offs, invoices,
-- fees, refusals, stage changes, alerts, snapshots) need no guard.
ALTER TABLE tickets       ADD COLUMN write_version bigint NOT NULL DEFAULT 0;
ALTER TABLE handovers     ADD COLUMN write_version bigint NOT NULL DEFAULT 0;
ALTER TABLE incidents     ADD COLUMN write_version bigint NOT NULL DEFAULT 0;
ALTER TABLE change_orders ADD COLUMN write_version bigint NOT NULL DEFAULT 0;

-- A Slack post is reserved here before it is made. A notice whose
-- reservation is in doubt (a post that may have reached Slack without its
-- answer reaching us) is looked for in the channel's history, by the key in
-- its message metadata, before it is posted again. reserved_at bounds how
-- far back that look goes. leased_until keeps a second attempt at the
-- same notice (an old run still sending what the next run sends too) from
-- posting beside the first; a lease outlives its attempt's time-out, and a
-- dead attempt's lease runs out by itself.
CREATE TABLE slack_posts (
    deal_id      text NOT NULL,
    notice_key   text NOT NULL,
    channel      text NOT NULL,
    reserved_at  timestamptz NOT NULL DEFAULT now(),
    in_doubt     boolean NOT NULL DEFAULT false,
    attempts     integer NOT NULL DEFAULT 0,
    leased_until timestamptz NOT NULL,
    PRIMARY KEY (deal_id, notice_key)
);

-- A job's workflow start is recorded, so the sweeper finds jobs whose start
-- never happened (the start failed, or the server died between the rows'
-- commit and the start).
ALTER TABLE intake_jobs ADD COLUMN started_at timestamptz;
-- Jobs written before this migration were started with their rows.
UPDATE intake_jobs SET started_at = created_at;
CREATE INDEX intake_jobs_unstarted ON intake_jobs (created_at) WHERE started_at IS NULL;
