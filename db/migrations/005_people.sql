-- Slack's names for the user ids the deals hold, so pages and reports show
-- people by name without asking Slack while rendering. A cache: the record
-- keeps ids, and a row older than a day is fetched again. Empty names mean
-- Slack had none to give (a deleted or mistyped user): the id is shown.
CREATE TABLE people (
    user_id    text PRIMARY KEY,
    name       text NOT NULL,
    real_name  text NOT NULL,
    fetched_at timestamptz NOT NULL
);
