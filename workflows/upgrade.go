package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/deal"
	"dealflow/workflows/legacy"
)

// upgrade takes over a deal from a version-1 run: its whole record moves to
// PostgreSQL once (ImportRecord), and the state is derived from it. The
// version-1 carry has the same JSON as today's record, so it decodes as is.
func (w *dealWorkflow) upgrade(ctx workflow.Context, c *legacy.Carry) error {
	var rec deal.Record
	var snaps []deal.Snapshot
	var outbox []activities.Notification
	if err := roundTrip(c.Record, &rec); err != nil {
		return temporal.NewNonRetryableApplicationError("the version-1 carry does not decode: "+err.Error(), "BadCarry", err)
	}
	_ = roundTrip(c.Snapshots, &snaps)
	_ = roundTrip(c.Outbox, &outbox)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
	req := activities.ImportRequest{Record: rec, Snapshots: snaps, FirstRunID: workflow.GetInfo(ctx).FirstRunID}
	if err := workflow.ExecuteActivity(actx, a.ImportRecord, req).Get(ctx, nil); err != nil {
		return err
	}
	w.s = deal.StateFromRecord(&rec)
	w.NoticeSeq, w.NextCheck = c.NoticeSeq, c.NextCheck
	for _, n := range outbox {
		w.Outbox = append(w.Outbox, outgoing{Notification: n})
	}
	w.trimOutbox()
	return nil
}

func roundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
