package intake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
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
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: WorkflowID(id), TaskQueue: taskQueue, WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary: "finance intake " + path,
	}, JobWorkflow, JobInput{JobID: id})
	return id, err
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
