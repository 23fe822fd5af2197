-- name: CreateIntakeJob :exec
INSERT INTO intake_jobs (job_id, path, rows_total) VALUES ($1, $2, $3);

-- name: InsertIntakeRows :copyfrom
INSERT INTO intake_rows (job_id, row_no, deal_id, invoice_id, invoice, status, reason) VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: ListIntakeDeals :many
-- The next deals of a job with rows still waiting, in deal id order.
SELECT DISTINCT deal_id FROM intake_rows
WHERE job_id = $1 AND status = '' AND deal_id > sqlc.arg(after)::text
ORDER BY deal_id LIMIT sqlc.arg(page);

-- name: WaitingIntakeRows :many
SELECT row_no, invoice FROM intake_rows
WHERE job_id = $1 AND deal_id = $2 AND status = ''
ORDER BY row_no LIMIT sqlc.arg(page);

-- name: AnswerIntakeRows :exec
UPDATE intake_rows r SET status = u.status, reason = u.reason
FROM (SELECT unnest(sqlc.arg(row_nos)::int[]) AS row_no, unnest(sqlc.arg(statuses)::text[]) AS status,
             unnest(sqlc.arg(reasons)::text[]) AS reason) u
WHERE r.job_id = sqlc.arg(job_id) AND r.row_no = u.row_no;

-- name: FinishIntakeJob :exec
UPDATE intake_jobs SET finished_at = COALESCE(finished_at, now()) WHERE job_id = $1;

-- name: GetIntakeJob :one
SELECT j.job_id, j.path, j.rows_total, j.created_at, j.finished_at,
    count(*) FILTER (WHERE r.status = 'accepted')::int AS accepted,
    count(*) FILTER (WHERE r.status = 'duplicate')::int AS duplicate,
    count(*) FILTER (WHERE r.status = 'refused')::int AS refused,
    count(*) FILTER (WHERE r.status = '')::int AS waiting
FROM intake_jobs j LEFT JOIN intake_rows r ON r.job_id = j.job_id
WHERE j.job_id = $1
GROUP BY j.job_id;

-- name: ListIntakeRows :many
SELECT row_no, deal_id, invoice_id, status, reason FROM intake_rows
WHERE job_id = $1 AND row_no > sqlc.arg(after)::int
ORDER BY row_no LIMIT sqlc.arg(page);

-- name: MarkIntakeJobStarted :exec
UPDATE intake_jobs SET started_at = COALESCE(started_at, now()) WHERE job_id = $1;

-- name: UnstartedIntakeJobs :many
-- Jobs whose workflow start was never recorded, older than a grace period
-- (a start in flight is not the sweeper's).
SELECT job_id, path FROM intake_jobs
WHERE started_at IS NULL AND finished_at IS NULL AND created_at < now() - make_interval(secs => sqlc.arg(grace_seconds)::float8)
ORDER BY created_at LIMIT sqlc.arg(page);

-- name: TrySweepLock :one
-- Only one worker sweeps at a time: a transaction-scoped advisory lock.
SELECT pg_try_advisory_xact_lock(hashtextextended('intake-sweeper', 0));

-- name: CorrectionFilesByDeal :many
-- Per deal, the finance files (intake jobs) whose every row for the deal
-- only corrected an earlier one: a credit note, or an invoice id already
-- taken (duplicate, or refused as conflicting with what it holds).
SELECT deal_id, count(*)::int AS files FROM (
    SELECT job_id, deal_id FROM intake_rows
    WHERE deal_id = ANY(sqlc.arg(deal_ids)::text[])
    GROUP BY job_id, deal_id
    HAVING bool_and(status IN ('duplicate', 'refused')
        OR (invoice <> '' AND (invoice::jsonb ->> 'credit') = 'true'))
) f
GROUP BY deal_id ORDER BY deal_id;
