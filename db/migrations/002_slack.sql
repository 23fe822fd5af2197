-- Slack messages keep what they last showed, so a later update (a sign-off,
-- the deal closing) can take the buttons off without losing the content.
ALTER TABLE slack_messages
    ADD COLUMN text       text NOT NULL DEFAULT '',
    ADD COLUMN blocks     jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Updates look a deal's messages up by what they are about.
CREATE INDEX slack_messages_subject ON slack_messages (deal_id, kind, ticket_id);
