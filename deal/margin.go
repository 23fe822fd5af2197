package deal

import (
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

const (
	OnTrack  = "on_track"
	AtRisk   = "at_risk"
	OffTrack = "off_track"
)

var hundred = decimal.NewFromInt(100)

// divPlaces is the precision of every division; results are rounded to two
// places only when stored on the Margin for display.
const divPlaces = 20

type CategoryCost struct {
	Category string          `json:"category"`
	Amount   decimal.Decimal `json:"amount"`
}

// Margin is the deal's money as of one moment. Money is rounded to the cent
// and percentages to two places (half away from zero); Status is decided on
// the exact figures before rounding.
type Margin struct {
	AsOf              time.Time        `json:"as_of"`
	Revenue           decimal.Decimal  `json:"revenue"`
	PlannedCost       decimal.Decimal  `json:"planned_cost"`
	ActualCost        decimal.Decimal  `json:"actual_cost"`
	CostByCategory    []CategoryCost   `json:"cost_by_category"`
	CurrentMargin     decimal.Decimal  `json:"current_margin"`
	CurrentMarginPct  decimal.Decimal  `json:"current_margin_pct"`
	PctComplete       *decimal.Decimal `json:"pct_complete,omitempty"`
	ElapsedPct        decimal.Decimal  `json:"elapsed_pct"`
	EAC               decimal.Decimal  `json:"eac"`
	ForecastMarginPct decimal.Decimal  `json:"forecast_margin_pct"`
	TargetMarginPct   decimal.Decimal  `json:"target_margin_pct"`
	DriftPts          decimal.Decimal  `json:"drift_pts"`
	Status            string           `json:"status"`
	// Pending change orders are risk, not revenue.
	PendingChangeOrders    decimal.Decimal `json:"pending_change_orders"`
	PendingChangeOrderCost decimal.Decimal `json:"pending_change_order_cost"`
	FeesInvoiced           decimal.Decimal `json:"fees_invoiced"`
	FeesCollected          decimal.Decimal `json:"fees_collected"`
	FeesPending            decimal.Decimal `json:"fees_pending"`
}

// MarginInputs is everything the margin depends on: running totals, never
// lists, so a check costs the same at the first invoice and the 50,000th.
type MarginInputs struct {
	Terms        Terms
	Ledger       Ledger
	ChangeOrders []ChangeOrder
	Progress     *Progress
	Now          time.Time
}

// RevenueOf is the contract value plus approved change orders.
func RevenueOf(t Terms, cos []ChangeOrder) decimal.Decimal {
	return t.ContractValue.Add(approvedAmount(cos, ""))
}

// approvedAmount sums approved change orders, leaving out the one named skip.
func approvedAmount(cos []ChangeOrder, skip string) decimal.Decimal {
	sum := decimal.Zero
	for _, c := range cos {
		if c.Status == "approved" && c.ID != skip {
			sum = sum.Add(c.Amount)
		}
	}
	return sum
}

// ComputeMargin applies the formulas of the margin issue:
//
//	revenue  = contract value + approved change orders
//	eac      = actual / pct_complete, or before any progress report
//	           actual + planned * (1 - elapsed fraction of the schedule)
//	forecast = (revenue - eac) / revenue
//	drift    = target - forecast (in points)
func ComputeMargin(in MarginInputs) Margin {
	t := in.Terms
	m := Margin{AsOf: in.Now, TargetMarginPct: t.TargetMarginPct, Revenue: RevenueOf(t, in.ChangeOrders)}
	planned := decimal.Zero
	if t.PlannedCost != nil {
		planned = *t.PlannedCost
	}
	pendingAmt, pendingCost := decimal.Zero, decimal.Zero
	for _, c := range in.ChangeOrders {
		switch c.Status {
		case "approved":
			planned = planned.Add(c.PlannedCost)
		case "pending":
			pendingAmt, pendingCost = pendingAmt.Add(c.Amount), pendingCost.Add(c.PlannedCost)
		}
	}
	m.PlannedCost, m.PendingChangeOrders, m.PendingChangeOrderCost = planned, pendingAmt, pendingCost

	actual := in.Ledger.ActualCost()
	m.ActualCost = actual
	m.CostByCategory = []CategoryCost{}
	for _, c := range in.Ledger.Costs {
		if !c.Amount.IsZero() {
			m.CostByCategory = append(m.CostByCategory, c)
		}
	}

	elapsed := elapsedFraction(t.StartDate.Time, t.EndDate.Time, in.Now)
	m.ElapsedPct = elapsed.Mul(hundred).Round(2)
	var eac decimal.Decimal
	if in.Progress != nil && in.Progress.PctComplete.Sign() > 0 {
		pc := in.Progress.PctComplete
		m.PctComplete = &pc
		eac = actual.Mul(hundred).DivRound(pc, divPlaces)
	} else {
		eac = actual.Add(planned.Mul(decimal.NewFromInt(1).Sub(elapsed)))
	}
	m.EAC = eac.Round(2)
	m.CurrentMargin = m.Revenue.Sub(actual)

	forecast, current := decimal.Zero, decimal.Zero
	if m.Revenue.Sign() > 0 {
		current = m.CurrentMargin.Mul(hundred).DivRound(m.Revenue, divPlaces)
		forecast = m.Revenue.Sub(eac).Mul(hundred).DivRound(m.Revenue, divPlaces)
	}
	drift := t.TargetMarginPct.Sub(forecast)
	m.CurrentMarginPct, m.ForecastMarginPct, m.DriftPts = current.Round(2), forecast.Round(2), drift.Round(2)
	m.Status = marginStatus(drift, t)

	invoiced, collected := in.Ledger.FeesInvoiced, in.Ledger.FeesCollected
	m.FeesInvoiced, m.FeesCollected, m.FeesPending = invoiced, collected, invoiced.Sub(collected)
	return m
}

func elapsedFraction(start, end, now time.Time) decimal.Decimal {
	total := end.Sub(start)
	switch {
	case total <= 0 || !now.After(start):
		return decimal.Zero
	case !now.Before(end):
		return decimal.NewFromInt(1)
	}
	return decimal.NewFromInt(int64(now.Sub(start)/time.Second)).DivRound(decimal.NewFromInt(int64(total/time.Second)), divPlaces)
}

func marginStatus(drift decimal.Decimal, t Terms) string {
	warn, crit := decimal.NewFromInt(DefaultWarnPts), decimal.NewFromInt(DefaultCriticalPts)
	if t.MarginWarnPts != nil {
		warn = *t.MarginWarnPts
	}
	if t.MarginCriticalPts != nil {
		crit = *t.MarginCriticalPts
	}
	switch {
	case drift.GreaterThan(crit):
		return OffTrack
	case drift.GreaterThan(warn):
		return AtRisk
	}
	return OnTrack
}

func statusRank(s string) int { return slices.Index([]string{OnTrack, AtRisk, OffTrack}, s) }

func (s *State) refreshMargin(now time.Time) {
	s.Margin = ComputeMargin(MarginInputs{Terms: s.Terms, Ledger: s.Ledger, ChangeOrders: s.ChangeOrders, Progress: s.Progress, Now: now})
}

// CheckMargin is one turn of the margin-check loop: recompute, keep a
// snapshot, and alert when the status moved. Before the handover is signed
// off there is no delivery to watch and it does nothing.
func (s *State) CheckMargin(now time.Time) Effects {
	if s.BaseStage == "" || s.Stage.IsFinal() {
		return Effects{}
	}
	a := &applier{s: s, now: now}
	a.checkMargin()
	s.Version++
	return a.effects
}

func (a *applier) checkMarginAfter() {
	if a.s.BaseStage != "" {
		a.checkMargin()
	}
}

func (a *applier) snapshot() {
	s := a.s
	s.refreshMargin(a.now)
	s.MarginChecks++
	a.effects.Rows.Snapshots = append(a.effects.Rows.Snapshots, Snapshot{Seq: s.MarginChecks, Margin: s.Margin})
}

func (a *applier) checkMargin() {
	s := a.s
	a.snapshot()
	prev, cur := s.Alerted, s.Margin.Status
	if prev == cur {
		return
	}
	kind := "worsened"
	if statusRank(cur) < statusRank(prev) {
		kind = "recovered"
	}
	al := Alert{ID: fmt.Sprintf("m%d", s.MarginChecks), Kind: kind, From: prev, To: cur, At: a.now, Margin: s.Margin}
	s.Alerted = cur
	a.effects.Rows.Alerts = append(a.effects.Rows.Alerts, al)
	a.notify(Notice{Kind: NoticeMarginAlert, Alert: &al})
	a.settleDelivery(Dealflow, "margin "+cur)
}
