package workflows

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/deal"
)

// a is only for naming activity methods; the worker holds the real one.
var a *activities.Activities

// writer is the queue of rows on their way to PostgreSQL. Entries are
// numbered as they are queued; a notice waits for the entry it follows.
type writer struct {
	rows  []deal.Rows
	sizes []int
	// queued numbers the entries queued so far; saved, the entries written.
	queued, saved int64
	// version is the state version PostgreSQL last took.
	version int64
	// noticesSaved is the number of the last notice PostgreSQL took.
	noticesSaved int64
}

func (wr *writer) queue(r deal.Rows) {
	if r.Len() == 0 {
		return
	}
	b, _ := json.Marshal(r)
	wr.rows, wr.sizes = append(wr.rows, r), append(wr.sizes, len(b))
	wr.queued++
}

func (wr *writer) pending() int { return len(wr.rows) }

// bytes is the size of the rows waiting.
func (wr *writer) bytes() int {
	n := 0
	for _, s := range wr.sizes {
		n += s
	}
	return n
}

// settled is true when PostgreSQL has every row and the state version v.
func (wr *writer) settled(v int64) bool { return len(wr.rows) == 0 && wr.version == v }

// next merges the first entries, up to maxBytes (at least one entry).
func (wr *writer) next(maxBytes int) (int, deal.Rows) {
	var out deal.Rows
	n, size := 0, 0
	for n < len(wr.rows) && (n == 0 || size+wr.sizes[n] <= maxBytes) {
		out.Merge(wr.rows[n])
		size += wr.sizes[n]
		n++
	}
	return n, out
}

func (wr *writer) done(n int, version int64) {
	for _, r := range wr.rows[:n] {
		for _, no := range r.Notices {
			wr.noticesSaved = max(wr.noticesSaved, no.Seq)
		}
	}
	wr.rows, wr.sizes = wr.rows[n:], wr.sizes[n:]
	wr.saved += int64(n)
	wr.version = max(wr.version, version)
}

func (wr *writer) all() deal.Rows {
	_, r := wr.next(1 << 62)
	return r
}

// maxWriteBytes bounds the rows of one SaveRows input (one row may be
// larger: a sign-off with a full deliverable is about 22 KiB).
const maxWriteBytes = 96 << 10

// Health says what keeps failing for this deal: shown on the deal page,
// in the Temporal UI (search attribute DealHealth) and in the log.
type Health struct {
	Write  string `json:"write,omitempty"`
	Notify string `json:"notify,omitempty"`
	Ledger string `json:"ledger,omitempty"`
}

func (h Health) String() string {
	var parts []string
	for _, p := range [][2]string{{"write", h.Write}, {"ledger", h.Ledger}, {"notify", h.Notify}} {
		if p[1] != "" {
			parts = append(parts, p[0]+" failing: "+p[1])
		}
	}
	return strings.Join(parts, "; ")
}

// Keyword is the health for the search attribute: ok, or what is failing.
func (h Health) Keyword() string {
	var parts []string
	for _, p := range [][2]string{{"write_failing", h.Write}, {"ledger_failing", h.Ledger}, {"notify_failing", h.Notify}} {
		if p[1] != "" {
			parts = append(parts, p[0])
		}
	}
	if len(parts) == 0 {
		return "ok"
	}
	return strings.Join(parts, ",")
}

// retryPause is how long a loop waits after an activity used up its
// attempts, before trying the same work again.
const retryPause = time.Minute

// retryable activity options: a few quick attempts, then the loop shows
// the failure on the deal and pauses.
func withRetries(ctx workflow.Context, timeout time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
}

// isPermanent is an activity error that a retry cannot mend.
func isPermanent(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.NonRetryable()
}

// writeLoop writes what changed whenever something did. It coalesces: ten
// signals arriving during one write cost one more write, not ten.
// PostgreSQL being down delays the writes, never the deal.
func (w *dealWorkflow) writeLoop(ctx workflow.Context) {
	ctx = withRetries(ctx, 30*time.Second)
	for {
		// An error here means the run was cancelled: cancelled() takes over.
		if workflow.Await(ctx, func() bool { return !w.writes.settled(w.s.Version) }) != nil {
			return
		}
		n, rows := w.writes.next(maxWriteBytes)
		version := w.s.Version
		req := activities.SaveRequest{State: w.s.Summary(), Health: w.Health.String(), Rows: rows}
		err := workflow.ExecuteActivity(ctx, a.SaveRows, req).Get(ctx, nil)
		switch {
		case err == nil:
			w.Health.Write = ""
		case isPermanent(err):
			// PostgreSQL refused the rows themselves; they would be refused
			// again. The deal goes on, and shows it.
			w.Health.Write = "rows refused by PostgreSQL: " + err.Error()
			workflow.GetLogger(ctx).Error("rows refused by PostgreSQL and dropped", "rows", rows.Len(), "error", err)
		default:
			w.Health.Write = err.Error()
			workflow.GetLogger(ctx).Error("writing the deal failed; retrying in a minute", "error", err)
			if workflow.Sleep(ctx, retryPause) != nil {
				return
			}
			continue
		}
		w.writes.done(n, version)
	}
}

// notifyLoop sends the deal's notices one by one, in order, in a
// goroutine of its own so the deal never waits for Slack. The notices wait
// in PostgreSQL (written with the rows they follow), never in the
// workflow, so however long Slack is down none is dropped and the carry
// stays small: the next run goes on from NoticesSent. A notice Slack
// refuses for good (a channel that does not exist) is logged, shown on the
// deal's health, and passed; everything else is retried until it goes.
func (w *dealWorkflow) notifyLoop(ctx workflow.Context) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: NotifyRetryMax},
	})
	for {
		ready := func() bool { return w.NoticesSent < w.writes.noticesSaved }
		if workflow.Await(ctx, ready) != nil {
			return
		}
		ref := activities.NoticeRef{DealID: w.s.Terms.DealID, Seq: w.NoticesSent + 1}
		if err := workflow.ExecuteActivity(ctx, a.SendNotice, ref).Get(ctx, nil); err != nil {
			if !isPermanent(err) {
				return // the run was cancelled
			}
			w.Health.Notify = err.Error()
			workflow.GetLogger(ctx).Error("notice refused by Slack for good; passed", "seq", ref.Seq, "error", err)
		} else {
			w.Health.Notify = ""
		}
		w.NoticesSent = ref.Seq
	}
}

// NotifyRetryMax is the longest pause between two tries of a notice. The
// retry policy is not part of what a replay checks, so tests shorten it
// (the worker sets it once, before it starts).
var NotifyRetryMax = 5 * time.Minute
