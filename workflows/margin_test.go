package workflows

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/testsuite"

	"dealflow/activities"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

const marginDay = 24 * time.Hour

// marginStart is midnight UTC, so the deal's start date (a calendar day)
// and the workflow clock start at the same instant and elapsed fractions
// are exact.
var marginStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// marginMark is one observed event of the margin story: the day it happened
// on (counted from marginStart) and what moved.
type marginMark struct {
	Day      int
	From, To string
}

func marginDayOf(t time.Time) int { return int(t.Sub(marginStart) / marginDay) }

// TestMarginLoopOver120Days runs one deal through 120 days of delivery in
// the SDK's time-skipping test environment and checks that the margin-check
// loop alerts exactly when the status moves, recovers, and lays mitigation
// over delivery only while the margin is off track.
//
// The deal (dealtest.Terms): contract 100,000 EUR, target margin 30%, so
// planned cost 70,000; schedule 100 days from marginStart. The walk to
// delivery happens at hour 1 of day 0, so the daily timer checks fall at
// day k + 1h (k = 1..120); signals arrive at noon, between checks.
//
// Before any progress report, eac = actual + 70,000 * (1 - e) with e the
// elapsed fraction (days/100), so
//
//	forecast% = (100,000 - eac) / 1,000 = 30 - (actual - 70,000 e) / 1,000
//	drift     = 30 - forecast           = (actual - 70,000 e) / 1,000
//
// i.e. one point of drift per 1,000 EUR spent ahead of the straight-line
// plan, and drift falls by 0.7 points a day while nothing is spent. With
// progress p%, eac = actual * 100 / p and time no longer matters.
// Thresholds: at_risk above 3 points, off_track above 8.
//
// Day 10.5  INV-1 subcontractor 12,000 EUR. e = .105, 70,000e = 7,350.
//
//	drift = (12,000 - 7,350)/1,000 = 4.65            -> at_risk   ALERT d10
//	timer d11+1h: e = .110417 -> 7,729.17 -> 4.27    (at_risk, quiet)
//	timer d12+1h: e = .120417 -> 8,429.17 -> 3.57    (at_risk, quiet)
//
// Day 12.5  INV-2 license 6,000 USD at fx 0.9 = 5,400.00 EUR; actual 17,400.
//
//	e = .125 -> 8,750; drift = 8.65                  -> off_track ALERT d12, mitigation
//	timer d13+1h: 9,129.17 -> 8.27                   (off_track, quiet)
//
// Day 13.5  CN-1 credit note on subcontractor, 3,000 -> -3,000; actual 14,400.
//
//	e = .135 -> 9,450; drift = 4.95                  -> at_risk   ALERT d13 (recovered), in_progress
//	timer d14+1h: 9,829.17 -> 4.57; d15: 3.87; d16: 11,229.17 -> 3.17 (at_risk, quiet)
//	timer d17+1h: e = .170417 -> 11,929.17 -> 2.47   -> on_track  ALERT d17 (recovered, by the timer alone)
//
// Day 20.5  INV-2 re-sent identically: duplicate, no check, nothing moves.
// Day 25.5  INV-9 with amount 0: refused, nothing moves.
// Day 30.5  progress 20%: eac = 14,400 * 100/20 = 72,000; forecast 28%;
//
//	drift 2.00                                        (on_track, quiet)
//
// Day 45.5  INV-3 travel 2,000; actual 16,400; eac = 82,000; forecast 18%;
//
//	drift 12                                          -> off_track ALERT d45, mitigation
//
// Day 50.5  CO-1 pending (amount 20,000, planned cost 10,000): revenue stays
//
//	100,000, the 20,000 shows as risk; drift 12         (off_track, quiet)
//
// Day 55.5  CO-1 approved: revenue 120,000, planned cost 80,000; eac is
//
//	still 82,000 (progress-based); forecast = 38,000/120,000 = 31.666..%
//	drift = -1.666.. (shown -1.67)                     -> on_track  ALERT d55 (recovered), in_progress
//
// Days 56-120: nothing changes; 65 more daily checks, all quiet.
// Day 120.5 maintenance (PM), closed_won (GM): the final check, quiet.
//
// Margin checks: one at the handover sign-off, 120 timer checks (days
// 1..120 at +1h) plus one after each accepted cost, progress or change-order
// signal (INV-1, INV-2, CN-1, progress, INV-3, CO-1 pending, CO-1 approved
// = 7) plus the closing one: 129 in all.
func TestMarginLoopOver120Days(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(marginStart)
	env.RegisterWorkflow(DealWorkflow)
	id := newDealID()
	// The notifier runs on the activities' goroutine.
	var mu sync.Mutex
	var notified []deal.Alert
	env.RegisterActivity(&activities.Activities{Store: store, Notifier: notifierFunc(func(n activities.Notification) {
		if n.Notice.Kind == deal.NoticeMarginAlert {
			mu.Lock()
			notified = append(notified, *n.Notice.Alert)
			mu.Unlock()
		}
	})})

	// Every signal goes through the update so its outcome is known.
	type sent struct {
		what   string
		want   string
		status string
		reason string
	}
	var outcomes []*sent
	send := func(at time.Duration, want string, steps ...dealtest.Step) {
		env.RegisterDelayedCallback(func() {
			for _, st := range steps {
				o := &sent{what: fmt.Sprintf("day %.1f %s %s", at.Hours()/24, st.Signal, st.Payload), want: want, status: "never answered"}
				outcomes = append(outcomes, o)
				env.UpdateWorkflow(UpdateSignal, "", &testsuite.TestUpdateCallback{
					OnAccept: func() {},
					OnReject: func(err error) { o.status, o.reason = "rejected", err.Error() },
					OnComplete: func(v any, err error) {
						if err != nil {
							o.status, o.reason = "failed", err.Error()
							return
						}
						r := v.(deal.Result)
						o.status, o.reason = r.Status, r.Reason
					},
				}, SignalRequest{Signal: st.Signal, Payload: st.Payload})
			}
		}, at)
	}
	// inspect looks at the workflow's state a minute after a signal landed.
	inspect := func(at time.Duration, fn func(r *deal.State)) {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(QueryRecord)
			if err != nil {
				t.Errorf("query at day %.1f: %v", at.Hours()/24, err)
				return
			}
			var st Status
			if err := v.Get(&st); err != nil {
				t.Errorf("query at day %.1f: %v", at.Hours()/24, err)
				return
			}
			fn(&st.Deal)
		}, at+time.Minute)
	}
	noon := func(d int) time.Duration { return time.Duration(d)*marginDay + 12*time.Hour }
	usdInvoice := dealtest.Step{Signal: deal.SigInvoice, Payload: dealtest.JSON(map[string]any{"invoice_id": "INV-2",
		"category": "license", "amount": "6000", "currency": "USD", "fx_rate": "0.9", "date": "2026-01-17", "supplier": "Globex Soft"})}
	changeOrder := func(status string) dealtest.Step {
		return dealtest.Step{Signal: deal.SigChangeOrder, Payload: dealtest.JSON(map[string]any{"id": "CO-1",
			"amount": "20000", "planned_cost": "10000", "status": status, "by": dealtest.AE})}
	}
	stage := func(to deal.Stage, by string) dealtest.Step {
		return dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]any{"to": to, "by": by})}
	}

	send(time.Hour, deal.Accepted, dealtest.ToDelivery()...)
	send(noon(10), deal.Accepted, dealtest.Invoice("INV-1", "subcontractor", "12000", "2026-01-15"))
	send(noon(12), deal.Accepted, usdInvoice)
	inspect(noon(12), func(r *deal.State) {
		if r.Stage != deal.Mitigation || r.Margin.DriftPts.String() != "8.65" {
			t.Errorf("day 12.5: stage %s drift %s, want mitigation and 8.65", r.Stage, r.Margin.DriftPts)
		}
	})
	send(noon(13), deal.Accepted, dealtest.Step{Signal: deal.SigInvoice, Payload: dealtest.JSON(map[string]any{"invoice_id": "CN-1",
		"category": "subcontractor", "amount": "3000", "credit": true, "currency": "EUR", "date": "2026-01-18", "supplier": "Initech"})})
	inspect(noon(13), func(r *deal.State) {
		if r.Stage != deal.InProgress || r.Margin.Status != deal.AtRisk || r.Margin.ActualCost.String() != "14400" {
			t.Errorf("day 13.5: stage %s status %s actual %s, want in_progress, at_risk, 14400", r.Stage, r.Margin.Status, r.Margin.ActualCost)
		}
	})
	send(noon(20), deal.Duplicate, usdInvoice)
	send(noon(25), deal.Refused, dealtest.Invoice("INV-9", "travel", "0", "2026-01-30"))
	send(noon(30), deal.Accepted, dealtest.Progress("20"))
	send(noon(45), deal.Accepted, dealtest.Invoice("INV-3", "travel", "2000", "2026-02-19"))
	send(noon(50), deal.Accepted, changeOrder("pending"))
	inspect(noon(50), func(r *deal.State) {
		m := r.Margin
		if r.Stage != deal.Mitigation || !m.Revenue.Equal(decimal.RequireFromString("100000")) || !m.PendingChangeOrders.Equal(decimal.RequireFromString("20000")) ||
			!m.PendingChangeOrderCost.Equal(decimal.RequireFromString("10000")) || m.DriftPts.String() != "12" {
			t.Errorf("day 50.5 (pending change order): stage %s revenue %s pending %s/%s drift %s; want mitigation, 100000, 20000/10000, 12",
				r.Stage, m.Revenue, m.PendingChangeOrders, m.PendingChangeOrderCost, m.DriftPts)
		}
	})
	send(noon(55), deal.Accepted, changeOrder("approved"))
	send(noon(120), deal.Accepted, stage(deal.Maintenance, dealtest.PM), stage(deal.ClosedWon, dealtest.GM))

	env.ExecuteWorkflow(DealWorkflow, Input{Terms: dealtest.Terms(id, marginStart)})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	final, err := store.LoadRecord(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}

	for _, o := range outcomes {
		if o.status != o.want {
			t.Errorf("%s: %s %s, want %s", o.what, o.status, o.reason, o.want)
		}
	}
	if len(outcomes) != len(dealtest.ToDelivery())+11 {
		t.Errorf("%d signals answered, want %d", len(outcomes), len(dealtest.ToDelivery())+11)
	}

	wantAlerts := []marginMark{
		{10, deal.OnTrack, deal.AtRisk},
		{12, deal.AtRisk, deal.OffTrack},
		{13, deal.OffTrack, deal.AtRisk},
		{17, deal.AtRisk, deal.OnTrack},
		{45, deal.OnTrack, deal.OffTrack},
		{55, deal.OffTrack, deal.OnTrack},
	}
	wantKinds := []string{"worsened", "worsened", "recovered", "recovered", "worsened", "recovered"}
	marks := func(as []deal.Alert) ([]marginMark, []string) {
		var m []marginMark
		var k []string
		for _, a := range as {
			m = append(m, marginMark{marginDayOf(a.At), a.From, a.To})
			k = append(k, a.Kind)
		}
		return m, k
	}
	mu.Lock()
	gotNotified, gotKinds := marks(notified)
	mu.Unlock()
	if !reflect.DeepEqual(gotNotified, wantAlerts) || !reflect.DeepEqual(gotKinds, wantKinds) {
		t.Errorf("margin alerts sent to Slack:\n got %v %v\nwant %v %v", gotNotified, gotKinds, wantAlerts, wantKinds)
	}
	if got, kinds := marks(final.Alerts); !reflect.DeepEqual(got, wantAlerts) || !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("margin alerts on the record:\n got %v %v\nwant %v %v", got, kinds, wantAlerts, wantKinds)
	}

	var stages []marginMark
	for _, h := range final.History {
		stages = append(stages, marginMark{marginDayOf(h.At), string(h.From), string(h.To)})
	}
	wantStages := []marginMark{
		{0, "", "discovery"}, {0, "discovery", "scoping"}, {0, "scoping", "proposal"}, {0, "proposal", "pricing"},
		{0, "pricing", "closing"}, {0, "closing", "handover"}, {0, "handover", "in_progress"},
		{12, "in_progress", "mitigation"}, {13, "mitigation", "in_progress"},
		{45, "in_progress", "mitigation"}, {55, "mitigation", "in_progress"},
		{120, "in_progress", "maintenance"}, {120, "maintenance", "closed_won"},
	}
	if !reflect.DeepEqual(stages, wantStages) {
		t.Errorf("stage history:\n got %v\nwant %v", stages, wantStages)
	}

	if final.MarginChecks != 129 {
		t.Errorf("%d margin checks, want 129 (1 at handover + 120 daily + 7 after signals + 1 at close)", final.MarginChecks)
	}
	snaps, err := store.Queries().ListMarginSnapshots(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for i, sn := range snaps {
		if sn.Seq != int64(i+1) {
			t.Fatalf("snapshot %d has seq %d: snapshots are missing or out of order", i+1, sn.Seq)
		}
	}
	if len(snaps) != 129 {
		t.Errorf("%d snapshots saved, want 129", len(snaps))
	}

	// The closing figures, worked out in the comment above: revenue
	// 100,000 + 20,000; planned 70,000 + 10,000; actual 12,000 + 5,400 -
	// 3,000 + 2,000; eac 16,400 * 100/20; current margin 120,000 - 16,400
	// = 103,600, which is 86.333..% of revenue.
	m := final.Margin
	for name, got := range map[string]string{
		"revenue": m.Revenue.StringFixed(2), "planned_cost": m.PlannedCost.StringFixed(2),
		"actual_cost": m.ActualCost.StringFixed(2), "eac": m.EAC.StringFixed(2),
		"current_margin": m.CurrentMargin.StringFixed(2), "current_margin_pct": m.CurrentMarginPct.StringFixed(2),
		"forecast_margin_pct": m.ForecastMarginPct.StringFixed(2), "drift_pts": m.DriftPts.StringFixed(2),
		"elapsed_pct": m.ElapsedPct.StringFixed(2), "pending_change_orders": m.PendingChangeOrders.StringFixed(2),
	} {
		want := map[string]string{"revenue": "120000.00", "planned_cost": "80000.00", "actual_cost": "16400.00",
			"eac": "82000.00", "current_margin": "103600.00", "current_margin_pct": "86.33",
			"forecast_margin_pct": "31.67", "drift_pts": "-1.67", "elapsed_pct": "100.00", "pending_change_orders": "0.00"}[name]
		if got != want {
			t.Errorf("final %s = %s, want %s", name, got, want)
		}
	}
	wantCats := []deal.CategoryCost{{Category: "subcontractor", Amount: decimal.RequireFromString("9000")}, {Category: "license", Amount: decimal.RequireFromString("5400")}, {Category: "travel", Amount: decimal.RequireFromString("2000")}}
	if len(m.CostByCategory) != len(wantCats) {
		t.Fatalf("cost by category %v, want %v", m.CostByCategory, wantCats)
	}
	for i, c := range m.CostByCategory {
		if c.Category != wantCats[i].Category || !c.Amount.Equal(wantCats[i].Amount) {
			t.Errorf("cost by category %v, want %v", m.CostByCategory, wantCats)
		}
	}
	if m.Status != deal.OnTrack || final.Stage != deal.ClosedWon {
		t.Errorf("final status %s stage %s, want on_track closed_won", m.Status, final.Stage)
	}
}
