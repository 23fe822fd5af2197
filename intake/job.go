package intake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"dealflow/db"
	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/workflows"
)

// SyncRows is the largest file answered at once; a larger one becomes a
// job answered 202 with its id, so finance never waits on a long upload.
const SyncRows = 1000

// Job is a large file being taken: its counts, and the rows' answers once
// asked for.
type Job struct {
	JobID      string                     `json:"job_id"`
	Status     string                     `json:"status"` // running | done
	Rows       int                        `json:"rows"`
	Accepted   int                        `json:"accepted"`
	Duplicate  int                        `json:"duplicate"`
	Refused    int                        `json:"refused"`
	Waiting    int                        `json:"waiting"`
	CreatedAt  time.Time                  `json:"created_at"`
	FinishedAt *time.Time                 `json:"finished_at,omitempty"`
	Answers    []workflows.InvoiceOutcome `json:"answers,omitempty"`
	// NextAfter, when set, is the row to ask after for the next page.
	NextAfter int `json:"next_after,omitempty"`
}

// ErrNoJob is returned for a job id that does not exist.
var ErrNoJob = errors.New("no such intake job")

// StartJob stores the rows and starts the workflow that applies them. The
// rows are in PostgreSQL before the answer goes out, so a crash after it
// loses nothing: the workflow resumes from the rows still waiting.
//
// Once the rows are stored the job is taken, whatever becomes of the start:
// the start runs on a context the request's end does not cancel, and a
// start that fails (or a server that dies first) is left to the sweeper,
// which starts every job without a workflow. The workflow id comes from the
// job id, so the two starts can never make two workflows.
func StartJob(ctx context.Context, store *db.Store, c client.Client, taskQueue, path string, rows []deal.InvoiceRow) (string, error) {
	id := newJobID()
	err := pgx.BeginFunc(ctx, store.Pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		if err := q.CreateIntakeJob(ctx, dbq.CreateIntakeJobParams{JobID: id, Path: path, RowsTotal: int32(len(rows))}); err != nil {
			return err
		}
		params := make([]dbq.InsertIntakeRowsParams, len(rows))
		for i, r := range rows {
			p := dbq.InsertIntakeRowsParams{JobID: id, RowNo: int32(r.Row), DealID: r.DealID, InvoiceID: r.Invoice.InvoiceID,
				Invoice: invoiceJSON(r)}
			if r.Err != nil {
				p.Status, p.Reason = deal.Refused, r.Err.Error()
			}
			params[i] = p
		}
		_, err := q.InsertIntakeRows(ctx, params)
		return err
	})
	if err != nil {
		return "", err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startTimeout)
	defer cancel()
	if err := startWorkflow(sctx, store.Queries(), c, taskQueue, id, path); err != nil {
		slog.Warn("intake job stored but its workflow did not start; the sweeper starts it", "job", id, "error", err)
	}
	return id, nil
}

// startTimeout bounds one workflow start.
const startTimeout = 30 * time.Second

// StartHook, when set (tests only), runs before each workflow start of a
// job; an error it returns is the start's.
var StartHook func(jobID string) error

// startWorkflow starts a job's workflow and records that it started. A
// workflow already started for the job (the sweeper and the request both
// tried) counts as started.
func startWorkflow(ctx context.Context, q *dbq.Queries, c client.Client, taskQueue, jobID, path string) error {
	if StartHook != nil {
		if err := StartHook(jobID); err != nil {
			return err
		}
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: WorkflowID(jobID), TaskQueue: taskQueue, WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true, StaticSummary: "finance intake " + path,
	}, JobWorkflow, JobInput{JobID: jobID})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return err
	}
	return q.MarkIntakeJobStarted(ctx, jobID)
}

// SweepGrace is how old a job without a recorded start must be before the
// sweeper starts it: younger ones may have their start in flight.
var SweepGrace = time.Minute

// Sweep starts the workflow of every job whose start was never recorded
// (the start failed, or the server died between the rows and the start).
// Only one worker sweeps at a time: the others find the lock taken and
// return at once. It answers how many jobs it started.
func Sweep(ctx context.Context, store *db.Store, c client.Client, taskQueue string) (int, error) {
	started := 0
	err := pgx.BeginFunc(ctx, store.Pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		mine, err := q.TrySweepLock(ctx)
		if err != nil || !mine {
			return err
		}
		jobs, err := q.UnstartedIntakeJobs(ctx, dbq.UnstartedIntakeJobsParams{GraceSeconds: SweepGrace.Seconds(), Page: 100})
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if err := startWorkflow(ctx, q, c, taskQueue, j.JobID, j.Path); err != nil {
				return fmt.Errorf("starting intake job %s: %w", j.JobID, err)
			}
			started++
		}
		return nil
	})
	return started, err
}

// RunSweeper sweeps every interval until ctx ends.
func RunSweeper(ctx context.Context, store *db.Store, c client.Client, taskQueue string, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := Sweep(ctx, store, c, taskQueue)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("intake sweeper", "error", err)
		case n > 0:
			log.Info("intake sweeper started jobs left without a workflow", "jobs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// WorkflowID is the id of a job's workflow.
func WorkflowID(jobID string) string { return "intake-" + jobID }

func newJobID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// maxAnswerPage bounds the answers one status request returns.
const maxAnswerPage = 100000

// GetJob reads a job's counts and, from row after on, up to page answers.
func GetJob(ctx context.Context, store *db.Store, id string, after, page int) (*Job, error) {
	q := store.Queries()
	j, err := q.GetIntakeJob(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoJob
	}
	if err != nil {
		return nil, err
	}
	job := &Job{JobID: j.JobID, Status: "running", Rows: int(j.RowsTotal), Accepted: int(j.Accepted), Duplicate: int(j.Duplicate),
		Refused: int(j.Refused), Waiting: int(j.Waiting), CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt}
	if j.FinishedAt != nil {
		job.Status = "done"
	}
	if page <= 0 || page > maxAnswerPage {
		page = maxAnswerPage
	}
	rows, err := q.ListIntakeRows(ctx, dbq.ListIntakeRowsParams{JobID: id, After: int32(after), Page: int32(page)})
	if err != nil {
		return nil, err
	}
	job.Answers = make([]workflows.InvoiceOutcome, 0, len(rows))
	for _, r := range rows {
		job.Answers = append(job.Answers, workflows.InvoiceOutcome{Row: int(r.RowNo), DealID: r.DealID, InvoiceID: r.InvoiceID,
			Status: r.Status, Reason: r.Reason})
	}
	if len(rows) == page {
		job.NextAfter = int(rows[len(rows)-1].RowNo)
	}
	return job, nil
}
