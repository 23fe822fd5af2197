-- A client link is bound to the internal approval it was issued after (the
-- seq of that sign-off), not only to the deliverable's content, so an
-- identical re-approval never revives an old link (issue #20).
ALTER TABLE client_links ADD COLUMN approval_seq integer NOT NULL DEFAULT 0;

-- Links issued before: bound to the latest internal approval at their issue.
UPDATE client_links l SET approval_seq = COALESCE((
    SELECT max(s.seq) FROM signoffs s
    WHERE s.deal_id = l.deal_id AND s.ticket_id = l.ticket_id AND s.side = 'internal'
      AND s.decision = 'approve' AND NOT s.refused AND s.at <= l.created_at), 0);
