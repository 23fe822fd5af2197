// Package activities holds every side effect of a deal workflow: writing
// what changed to PostgreSQL, taking invoices and fees into the ledger, and
// telling people. Temporal retries activities, so each one is idempotent:
// rows are keyed by ids the workflow assigned, ledger batches by number,
// messages by notice key. No activity takes or returns a whole deal.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"dealflow/activities/failpoint"
	"dealflow/db"
	"dealflow/deal"
	"dealflow/metrics"
)

// Activities is registered once on the worker; its fields are what the
// activities need and nothing the workflow sees.
type Activities struct {
	Store    *db.Store
	Notifier Notifier
	// Log says what the activities drop on purpose; nil logs nothing.
	Log *slog.Logger
}

// ClaimRequest opens a deal's row for the workflow chain that owns it.
type ClaimRequest struct {
	State      deal.State `json:"state"`
	FirstRunID string     `json:"first_run_id"`
}

// ErrDealTaken is the error type of a claim refused because the deal id
// belongs to another deal.
const ErrDealTaken = "DealTaken"

// ClaimDeal writes a new deal's row; a deal id another workflow chain owns
// fails for good, so one deal id never mixes two deals.
func (a *Activities) ClaimDeal(ctx context.Context, req ClaimRequest) error {
	opened, err := a.Store.ClaimDeal(ctx, &req.State, req.FirstRunID)
	if errors.Is(err, db.ErrDealTaken) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("deal id %s is taken: a deal opened on %s has it; open the new deal under a new deal_id",
				req.State.Terms.DealID, opened.Format("2006-01-02")), ErrDealTaken, nil)
	}
	if err == nil {
		failpoint.Hit("claim/claimed")
	}
	return err
}

// SaveRequest is one batch of changed rows and the deal's state columns.
type SaveRequest struct {
	State  deal.Summary `json:"state"`
	Health string       `json:"health,omitempty"`
	Rows   deal.Rows    `json:"rows"`
}

// SaveRows writes what changed. PostgreSQL refusing the rows themselves
// (bad data, not a connection) will refuse them again: that fails for good,
// and the workflow shows it on the deal instead of retrying forever.
//
// The workflow schedules it right after a change, so the time since then,
// retries included, is how far the deal pages lag behind the workflow.
func (a *Activities) SaveRows(ctx context.Context, req SaveRequest) error {
	stale, err := a.Store.SaveRows(ctx, &req.State, req.Health, req.Rows)
	if err != nil {
		return permanentIfData(err)
	}
	failpoint.Hit("saverows/committed")
	if stale != nil && a.Log != nil {
		// Harmless (a newer state is already stored), but a state that keeps
		// arriving stale would mean the workflow's writes are out of order.
		a.Log.Info("stale deal state dropped: PostgreSQL holds a newer version", "deal_id", req.State.DealID,
			"stored_version", stale.Stored, "dropped_version", stale.Given)
	}
	metrics.WriteLag(time.Since(activity.GetInfo(ctx).ScheduledTime))
	return nil
}

// LedgerBatch is a batch of one deal's invoices and fees, numbered by the
// workflow: a retry of the same number finds its own rows.
type LedgerBatch struct {
	DealID  string           `json:"deal_id"`
	Batch   int64            `json:"batch"`
	Entries []db.LedgerEntry `json:"entries"`
}

// LedgerAnswer is one answer per entry, in order, and the totals after.
type LedgerAnswer struct {
	Results []deal.Result `json:"results"`
	Totals  deal.Ledger   `json:"totals"`
}

func (a *Activities) TakeLedger(ctx context.Context, b LedgerBatch) (LedgerAnswer, error) {
	res, totals, err := a.Store.TakeLedger(ctx, b.DealID, b.Batch, b.Entries)
	if err != nil {
		return LedgerAnswer{}, permanentIfData(err)
	}
	failpoint.Hit("ledger/committed")
	return LedgerAnswer{Results: res, Totals: totals}, nil
}

// permanentIfData marks an error PostgreSQL gave about the data itself
// (classes 22, data exception, and 23, integrity violation) as final: the
// same rows would be refused again. Anything else (a lost connection, a
// server restarting) is retried.
func permanentIfData(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23")) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "RowsRefused", err)
	}
	return err
}

// Notify tells people about one notice. Its key makes a retry a no-op. The
// workflow sends what it holds; the details people read (a ticket's
// sign-offs and deliverable, the handover's commitments) come from
// PostgreSQL, which the workflow wrote before sending the notice.
func (a *Activities) Notify(ctx context.Context, n Notification) error {
	if err := a.hydrate(ctx, &n); err != nil {
		return err
	}
	return a.Notifier.Notify(ctx, n)
}

// NoticeRef names one of a deal's notices by its number.
type NoticeRef struct {
	DealID string `json:"deal_id"`
	Seq    int64  `json:"seq"`
}

// SendNotice posts one notice, read from PostgreSQL where the workflow
// wrote it, and records that Slack has it. A notice already recorded as
// sent is not posted again; one posted by an attempt that died before
// recording it is found by the Notifier's own key check (Notification.Key).
func (a *Activities) SendNotice(ctx context.Context, r NoticeRef) error {
	body, sent, err := a.Store.Notice(ctx, r.DealID, r.Seq)
	if err != nil || sent {
		return err
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return temporal.NewNonRetryableApplicationError("notice "+n.Key+" does not decode: "+err.Error(), "BadNotice", err)
	}
	if err := a.Notify(ctx, n); err != nil {
		return err
	}
	return a.Store.MarkNoticeSent(ctx, r.DealID, r.Seq)
}

// signoffsShown is how many of a ticket's newest sign-offs a message reads.
const signoffsShown = 10

func (a *Activities) hydrate(ctx context.Context, n *Notification) error {
	no := &n.Notice
	switch no.Kind {
	case deal.NoticeTicketOpened, deal.NoticeSignoff:
		if no.Ticket == nil {
			return nil
		}
		t, err := a.Store.LoadTicket(ctx, n.DealID, no.Ticket.ID, signoffsShown)
		if err != nil {
			return err
		}
		no.Ticket = &t
	case deal.NoticeHandoverOpened:
		ts, cs, err := a.Store.LoadHandover(ctx, n.DealID)
		if err != nil {
			return err
		}
		no.Tickets, no.Commitments = ts, cs
	case deal.NoticeQuestionAnswered, deal.NoticeQuestionEscalated:
		// The workflow keeps no question's text; the message shows it.
		if no.Question == nil {
			return nil
		}
		q, err := a.Store.LoadQuestion(ctx, n.DealID, no.Question.ID)
		if err != nil {
			return err
		}
		no.Question = &q
	}
	return nil
}
