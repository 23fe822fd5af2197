package intake

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities/failpoint"
	"dealflow/db"
	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/metrics"
	"dealflow/workflows"
)

// JobInput starts (or continues) a job's workflow.
type JobInput struct {
	JobID string `json:"job_id"`
	// After is the last deal id handled by earlier runs.
	After string `json:"after,omitempty"`
}

// dealsPerPage is how many deals of a job are applied at once.
const dealsPerPage = 8

// jobEventsPerRun keeps a job's history short: a file over 100,000 deals
// continues as new every few hundred deals.
const jobEventsPerRun = 2000

// JobWorkflow applies a job's waiting rows deal by deal, several deals at
// once. Everything it needs is in PostgreSQL; what passes through Temporal
// is deal ids, a page at a time. A worker dying mid-file retries the
// deal's activity, which sends only the rows still waiting.
func JobWorkflow(ctx workflow.Context, in JobInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		// ApplyDeal heartbeats every heartbeatEvery, so a worker that died
		// is noticed, and its deal retried, within seconds.
		HeartbeatTimeout: 4 * heartbeatEvery,
		RetryPolicy:      &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second},
	})
	var j *JobActivities
	for {
		var deals []string
		if err := workflow.ExecuteActivity(ctx, j.NextDeals, in.JobID, in.After, dealsPerPage).Get(ctx, &deals); err != nil {
			return err
		}
		if len(deals) == 0 {
			break
		}
		futures := make([]workflow.Future, len(deals))
		for i, d := range deals {
			futures[i] = workflow.ExecuteActivity(ctx, j.ApplyDeal, in.JobID, d)
		}
		for _, f := range futures {
			if err := f.Get(ctx, nil); err != nil {
				return err
			}
		}
		in.After = deals[len(deals)-1]
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > jobEventsPerRun {
			return workflow.NewContinueAsNewError(ctx, JobWorkflow, in)
		}
	}
	return workflow.ExecuteActivity(ctx, j.Finish, in.JobID).Get(ctx, nil)
}

// JobActivities are the job's side effects; registered on the worker.
type JobActivities struct {
	Store    *db.Store
	Temporal client.Client
}

// NextDeals lists the next deals of the job with rows still waiting.
func (a *JobActivities) NextDeals(ctx context.Context, jobID, after string, page int) ([]string, error) {
	return a.Store.Queries().ListIntakeDeals(ctx, dbq.ListIntakeDealsParams{JobID: jobID, After: after, Page: int32(page)})
}

// rowsPerRound is how many waiting rows of a deal one round sends.
const rowsPerRound = 500

// ApplyDeal sends a deal's waiting rows and writes each answer back, a
// round at a time. A row whose answer did not come stays waiting, and the
// activity fails so Temporal retries it; rows already answered are not
// sent again, and a row the deal took before a crash answers accepted
// (the row is named by the job and its number).
func (a *JobActivities) ApplyDeal(ctx context.Context, jobID, dealID string) error {
	q := a.Store.Queries()
	var answered atomic.Int64
	defer heartbeat(ctx, &answered)()
	for {
		waiting, err := q.WaitingIntakeRows(ctx, dbq.WaitingIntakeRowsParams{JobID: jobID, DealID: dealID, Page: rowsPerRound})
		if err != nil || len(waiting) == 0 {
			return err
		}
		rows := make([]deal.InvoiceRow, len(waiting))
		for i, w := range waiting {
			rows[i] = deal.InvoiceRow{Row: int(w.RowNo), DealID: dealID}
			if err := json.Unmarshal([]byte(w.Invoice), &rows[i].Invoice); err != nil {
				rows[i].Err = fmt.Errorf("stored row does not decode: %w", err)
			}
		}
		out := Submit(ctx, a.Store, a.Temporal, rows, jobID)
		p := dbq.AnswerIntakeRowsParams{JobID: jobID}
		unknown := 0
		for _, o := range out {
			if o.Status == workflows.OutcomeUnknown {
				unknown++
				continue
			}
			metrics.IntakeRow(o.Status)
			p.RowNos, p.Statuses, p.Reasons = append(p.RowNos, int32(o.Row)), append(p.Statuses, o.Status), append(p.Reasons, o.Reason)
		}
		if len(p.RowNos) > 0 {
			if err := q.AnswerIntakeRows(ctx, p); err != nil {
				return err
			}
		}
		answered.Add(int64(len(p.RowNos)))
		failpoint.Hit("intake/answered")
		if unknown > 0 {
			return fmt.Errorf("deal %s did not answer %d rows; they are sent again", dealID, unknown)
		}
	}
}

// heartbeatEvery is how often ApplyDeal tells Temporal it is alive,
// however long one round of rows takes.
const heartbeatEvery = 2 * time.Second

// heartbeat records the rows answered so far every heartbeatEvery until
// the returned function runs.
func heartbeat(ctx context.Context, answered *atomic.Int64) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			activity.RecordHeartbeat(ctx, answered.Load())
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// Finish marks the job done.
func (a *JobActivities) Finish(ctx context.Context, jobID string) error {
	if err := a.Store.Queries().FinishIntakeJob(ctx, jobID); err != nil {
		return err
	}
	failpoint.Hit("intake/finished")
	return nil
}
