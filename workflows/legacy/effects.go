package legacy

import (
	"fmt"
	"math"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// persistLoop writes the record whenever it moved on. It coalesces: ten
// signals arriving during one write cost one more write, not ten.
// PostgreSQL being down delays the writes, never the deal.
func (w *dealWorkflow) persistLoop(ctx workflow.Context) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	for {
		// An error here means the run was cancelled: cancelled() takes over.
		if workflow.Await(ctx, func() bool { return w.rec.Version != w.SavedVersion || len(w.Snapshots) > 0 }) != nil {
			return
		}
		v := w.rec.Version
		if v != w.SavedVersion {
			if err := workflow.ExecuteActivity(ctx, "SaveRecord", w.rec).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Error("saving the deal record failed; retrying in a minute", "error", err)
				if workflow.Sleep(ctx, time.Minute) != nil {
					return
				}
				continue
			}
			w.SavedVersion = v
		}
		if n := len(w.Snapshots); n > 0 {
			snaps := w.Snapshots[:n:n]
			if err := workflow.ExecuteActivity(ctx, "SaveSnapshots", w.rec.Terms.DealID, snaps).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Error("saving margin snapshots failed; retrying in a minute", "error", err)
				if workflow.Sleep(ctx, time.Minute) != nil {
					return
				}
				continue
			}
			w.Snapshots = w.Snapshots[n:]
		}
	}
}

// notifyLoop sends notices one by one, in order, in a goroutine of its
// own so the deal never waits for Slack. Slack is a view of the record: a
// message that cannot be posted within an hour (or that Slack refuses for
// good) is logged and dropped, and the next one goes.
func (w *dealWorkflow) notifyLoop(ctx workflow.Context) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Minute},
	})
	for {
		if workflow.Await(ctx, func() bool { return len(w.Outbox) > 0 }) != nil {
			return
		}
		n := w.Outbox[0]
		if err := workflow.ExecuteActivity(ctx, "Notify", n).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("notification dropped", "key", n.Key, "kind", n.Notice.Kind, "error", err)
		}
		w.Outbox = w.Outbox[1:]
	}
}

// Search attributes make deals findable in the Temporal UI and with
// `temporal workflow list --query`.
var (
	SADealStage         = temporal.NewSearchAttributeKeyKeyword("DealStage")
	SADealClient        = temporal.NewSearchAttributeKeyKeyword("DealClient")
	SADealAE            = temporal.NewSearchAttributeKeyKeyword("DealAE")
	SADealPM            = temporal.NewSearchAttributeKeyKeyword("DealPM")
	SAMarginStatus      = temporal.NewSearchAttributeKeyKeyword("MarginStatus")
	SAForecastMarginPct = temporal.NewSearchAttributeKeyFloat64("ForecastMarginPct")
	SAOpenIncidents     = temporal.NewSearchAttributeKeyInt64("OpenIncidents")
)

// publish tells the Temporal UI where the deal stands: search attributes
// and the workflow's current details, refreshed only when they changed.
func (w *dealWorkflow) publish(ctx workflow.Context) {
	r := w.rec
	m := r.Margin
	details := fmt.Sprintf("**Stage:** %s  \n**Forecast margin:** %s%% against target %s%% (%s)  \n**Actual cost:** %s %s of revenue %s  \n**Open incidents:** %d",
		r.Stage, m.ForecastMarginPct.StringFixed(2), m.TargetMarginPct.StringFixed(2), r.AlertedMarginStatus(),
		m.ActualCost.StringFixed(2), r.Terms.Currency, m.Revenue.StringFixed(2), r.OpenIncidents())
	if details == w.published {
		return
	}
	w.published = details
	workflow.SetCurrentDetails(ctx, details)
	t := r.Terms
	attrs := []temporal.SearchAttributeUpdate{
		SADealStage.ValueSet(string(r.Stage)), SADealClient.ValueSet(t.Client), SADealAE.ValueSet(t.People.AE),
		SADealPM.ValueSet(t.People.PM), SAMarginStatus.ValueSet(r.AlertedMarginStatus()), SAOpenIncidents.ValueSet(int64(r.OpenIncidents())),
	}
	// The float is for filtering in the UI only; one that cannot be encoded
	// must not keep the others from updating.
	if f := m.ForecastMarginPct.InexactFloat64(); !math.IsInf(f, 0) && !math.IsNaN(f) {
		attrs = append(attrs, SAForecastMarginPct.ValueSet(f))
	}
	err := workflow.UpsertTypedSearchAttributes(ctx, attrs...)
	if err != nil {
		workflow.GetLogger(ctx).Error("search attributes not updated", "error", err)
	}
}
