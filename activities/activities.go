// Package activities holds every side effect of a deal workflow: writing the
// record to PostgreSQL and telling people. Temporal retries activities, so
// each one is idempotent: upserts keyed by ids, messages keyed by notice key.
package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"dealflow/db"
	"dealflow/deal"
	"dealflow/metrics"
)

// Activities is registered once on the worker; its fields are what the
// activities need and nothing the workflow sees.
type Activities struct {
	Store    *db.Store
	Notifier Notifier
}

// SaveRecord writes the whole deal record. The workflow schedules it right
// after a change, so the time since then, retries included, is how far the
// deal pages lag behind the workflow.
func (a *Activities) SaveRecord(ctx context.Context, r *deal.Record) error {
	if err := a.Store.SaveRecord(ctx, r); err != nil {
		return err
	}
	metrics.WriteLag(time.Since(activity.GetInfo(ctx).ScheduledTime))
	return nil
}

// SaveSnapshots writes margin snapshots taken by the margin-check loop.
func (a *Activities) SaveSnapshots(ctx context.Context, dealID string, snaps []deal.Snapshot) error {
	return a.Store.SaveSnapshots(ctx, dealID, snaps)
}

// Notify tells people about one notice. Its key makes a retry a no-op.
func (a *Activities) Notify(ctx context.Context, n Notification) error {
	return a.Notifier.Notify(ctx, n)
}
