package deal_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// Every margin example uses the dealtest deal: contract 100,000 EUR, target
// margin 30%, so planned cost 100,000 * (1 - 0.30) = 70,000, scheduled over
// the 100 days from marginT0 (midnight, so elapsed fractions are exact).
var marginT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const mDay = 24 * time.Hour

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func marginTerms(t *testing.T, edit func(*deal.Terms)) deal.Terms {
	t.Helper()
	terms := dealtest.Terms("m1", marginT0)
	if edit != nil {
		edit(&terms)
	}
	if err := terms.Normalize(); err != nil {
		t.Fatal(err)
	}
	return terms
}

// cost is an invoice already in the deal's currency.
func cost(id, category, amount string) deal.Invoice {
	a := d(amount)
	return deal.Invoice{InvoiceID: id, Category: category, Amount: a, Currency: "EUR", DealAmount: a, Credit: a.IsNegative()}
}

// fxCost goes through NewInvoice, so the FX conversion is the real one.
func fxCost(t *testing.T, id, category, amount, currency, fx string, credit bool) deal.Invoice {
	t.Helper()
	rate := d(fx)
	inv, err := deal.NewInvoice(deal.InvoiceSignal{InvoiceID: id, Category: category, Amount: d(amount), Currency: currency,
		FXRate: &rate, Credit: credit, Date: deal.NewDate(2026, 1, 10)}, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func co(id, amount, planned, status string) deal.ChangeOrder {
	return deal.ChangeOrder{ID: id, Amount: d(amount), PlannedCost: d(planned), Status: status, By: dealtest.AE}
}

func progress(pct string) *deal.Progress { return &deal.Progress{PctComplete: d(pct), By: dealtest.PM} }

// shown is what people see: every figure at two places.
type shown struct {
	Revenue, Planned, Actual, CurrentMargin, CurrentPct, Elapsed, EAC, Forecast, Drift, Status string
}

func show(m deal.Margin) shown {
	return shown{m.Revenue.StringFixed(2), m.PlannedCost.StringFixed(2), m.ActualCost.StringFixed(2),
		m.CurrentMargin.StringFixed(2), m.CurrentMarginPct.StringFixed(2), m.ElapsedPct.StringFixed(2),
		m.EAC.StringFixed(2), m.ForecastMarginPct.StringFixed(2), m.DriftPts.StringFixed(2), m.Status}
}

func TestComputeMargin(t *testing.T) {
	cases := []struct {
		name     string
		terms    func(*deal.Terms)
		invoices []deal.Invoice
		cos      []deal.ChangeOrder
		progress *deal.Progress
		after    time.Duration // since marginT0
		want     shown
	}{
		{
			// Nothing spent on day 0: eac is the whole plan, 70,000;
			// forecast (100,000 - 70,000)/100,000 = 30%, the target.
			name: "day 0, nothing spent",
			want: shown{"100000.00", "70000.00", "0.00", "100000.00", "100.00", "0.00", "70000.00", "30.00", "0.00", deal.OnTrack},
		},
		{
			// No progress report: e = 25/100. eac = 25,000 + 70,000 * 0.75
			// = 77,500; forecast 22,500/100,000 = 22.5%; drift 30 - 22.5
			// = 7.5 (at risk: above 3, not above 8). Current margin
			// 100,000 - 25,000 = 75,000 = 75%.
			name:     "no progress, a quarter through, ahead of plan",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "20000"), cost("I2", "travel", "5000")},
			after:    25 * mDay,
			want:     shown{"100000.00", "70000.00", "25000.00", "75000.00", "75.00", "25.00", "77500.00", "22.50", "7.50", deal.AtRisk},
		},
		{
			// Half a day in: e = 0.5/100 = 0.005. eac = 70,000 * 0.995 =
			// 69,650; forecast 30,350/100,000 = 30.35%; drift -0.35.
			name:  "no progress, half a day in",
			after: 12 * time.Hour,
			want:  shown{"100000.00", "70000.00", "0.00", "100000.00", "100.00", "0.50", "69650.00", "30.35", "-0.35", deal.OnTrack},
		},
		{
			// A third of the schedule (33 days 8 hours): e = 1/3 exactly.
			// eac = 70,000 * 2/3 = 46,666.666..; forecast = 53.333..%;
			// drift -23.333.. (all shown rounded, computed exact).
			name:  "no progress, a third through",
			after: 100 * mDay / 3,
			want:  shown{"100000.00", "70000.00", "0.00", "100000.00", "100.00", "33.33", "46666.67", "53.33", "-23.33", deal.OnTrack},
		},
		{
			// Past the end date the elapsed fraction stops at 1: eac is
			// what was spent, 50,000; forecast 50%; drift -20.
			name:     "no progress, past the end date",
			invoices: []deal.Invoice{cost("I1", "internal", "50000")},
			after:    130 * mDay,
			want:     shown{"100000.00", "70000.00", "50000.00", "50000.00", "50.00", "100.00", "50000.00", "50.00", "-20.00", deal.OnTrack},
		},
		{
			// Progress replaces the schedule: eac = 30,000 / 0.40 = 75,000
			// whatever the date; forecast 25%; drift 5 -> at risk.
			name:     "progress 40%",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "30000")},
			progress: progress("40"),
			after:    10 * mDay,
			want:     shown{"100000.00", "70000.00", "30000.00", "70000.00", "70.00", "10.00", "75000.00", "25.00", "5.00", deal.AtRisk},
		},
		{
			// A credit note is a negative invoice: 20,000 - 5,000 + 2,000
			// = 17,000. eac = 17,000 / 0.25 = 68,000; forecast 32%;
			// drift -2.
			name: "credit note lowers the cost",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "20000"), cost("CN1", "subcontractor", "-5000"),
				cost("I2", "license", "2000")},
			progress: progress("25"),
			want:     shown{"100000.00", "70000.00", "17000.00", "83000.00", "83.00", "0.00", "68000.00", "32.00", "-2.00", deal.OnTrack},
		},
		{
			// FX: 1,000 USD at 0.9123 = 912.30 EUR; a 100 USD credit note
			// at 0.9123 = -91.23 EUR; actual 821.07. With 1% complete eac
			// = 82,107; forecast 17,893/100,000 = 17.893% -> 17.89; drift
			// 12.107 -> 12.11, off track. Current margin 99,178.93 =
			// 99.17893% -> 99.18.
			name: "FX invoices count at their deal amount",
			invoices: []deal.Invoice{fxCost(t, "U1", "license", "1000", "USD", "0.9123", false),
				fxCost(t, "U2", "license", "100", "USD", "0.9123", true)},
			progress: progress("1"),
			want:     shown{"100000.00", "70000.00", "821.07", "99178.93", "99.18", "0.00", "82107.00", "17.89", "12.11", deal.OffTrack},
		},
		{
			// Approved: +10,000 revenue, +6,000 planned. Pending (5,000 /
			// 3,000) and rejected (7,000 / 4,000) move nothing. Revenue
			// 110,000, planned 76,000 = eac on day 0; forecast 34,000 /
			// 110,000 = 30.9090..% -> 30.91; drift -0.9090.. -> -0.91.
			name:  "approved change order moves revenue and plan, pending and rejected do not",
			cos:   []deal.ChangeOrder{co("CO1", "10000", "6000", "approved"), co("CO2", "5000", "3000", "pending"), co("CO3", "7000", "4000", "rejected")},
			want:  shown{"110000.00", "76000.00", "0.00", "110000.00", "100.00", "0.00", "76000.00", "30.91", "-0.91", deal.OnTrack},
			after: 0,
		},
		{
			// Same change orders with 40% complete and 33,000 spent: eac
			// 82,500; forecast 27,500/110,000 = 25%; drift 5 -> at risk.
			// Had the pending one counted, revenue 115,000 would give
			// 28.26% and on track: pending is risk, not revenue.
			name:     "pending change order is not revenue",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "33000")},
			cos:      []deal.ChangeOrder{co("CO1", "10000", "6000", "approved"), co("CO2", "5000", "3000", "pending")},
			progress: progress("40"),
			want:     shown{"110000.00", "76000.00", "33000.00", "77000.00", "70.00", "0.00", "82500.00", "25.00", "5.00", deal.AtRisk},
		},
		{
			// Revenue 120,000, eac 82,000: forecast 38,000/120,000 =
			// 31.666..% -> 31.67 (up); drift -1.666.. -> -1.67 (away from 0).
			name:     "thirds round at the third place",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "82000")},
			cos:      []deal.ChangeOrder{co("CO1", "20000", "10000", "approved")},
			progress: progress("100"),
			want:     shown{"120000.00", "80000.00", "82000.00", "38000.00", "31.67", "0.00", "82000.00", "31.67", "-1.67", deal.OnTrack},
		},
		{
			// Revenue 120,000, eac 80,000: forecast 33.333..% -> 33.33
			// (down); drift -3.333.. -> -3.33.
			name:     "two thirds round down",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "80000")},
			cos:      []deal.ChangeOrder{co("CO1", "20000", "10000", "approved")},
			progress: progress("100"),
			want:     shown{"120000.00", "80000.00", "80000.00", "40000.00", "33.33", "0.00", "80000.00", "33.33", "-3.33", deal.OnTrack},
		},
		{
			// Exactly half a cent rounds up: forecast 12,345/100,000 =
			// 12.345% -> 12.35 (banker's rounding would give 12.34);
			// drift 17.655 -> 17.66.
			name:     "half rounds up",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "87655")},
			progress: progress("100"),
			want:     shown{"100000.00", "70000.00", "87655.00", "12345.00", "12.35", "0.00", "87655.00", "12.35", "17.66", deal.OffTrack},
		},
		{
			// Negative halves round away from zero too: forecast 31.005%
			// -> 31.01; drift -1.005 -> -1.01.
			name:     "negative half rounds away from zero",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "68995")},
			progress: progress("100"),
			want:     shown{"100000.00", "70000.00", "68995.00", "31005.00", "31.01", "0.00", "68995.00", "31.01", "-1.01", deal.OnTrack},
		},
		// Status thresholds: drift over 3 is at risk, over 8 off track;
		// exactly on a threshold is the better status. The status is
		// decided on the exact drift, so 3.00001 is at risk though it
		// shows as 3.00. With 100% complete, eac = actual and drift =
		// actual/1,000 - 70.
		{
			name:     "drift exactly 3 is on track",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "73000")},
			progress: progress("100"),
			want:     shown{"100000.00", "70000.00", "73000.00", "27000.00", "27.00", "0.00", "73000.00", "27.00", "3.00", deal.OnTrack},
		},
		{
			name:     "a cent over drift 3 is at risk",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "73000.01")},
			progress: progress("100"),
			want:     shown{"100000.00", "70000.00", "73000.01", "26999.99", "27.00", "0.00", "73000.01", "27.00", "3.00", deal.AtRisk},
		},
		{
			name:     "drift exactly 8 is at risk",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "78000")},
			progress: progress("100"),
			want:     shown{"100000.00", "70000.00", "78000.00", "22000.00", "22.00", "0.00", "78000.00", "22.00", "8.00", deal.AtRisk},
		},
		{
			name:     "a cent over drift 8 is off track",
			invoices: []deal.Invoice{cost("I1", "subcontractor", "78000.01")},
			progress: progress("100"),
			want:     shown{"100000.00", "70000.00", "78000.01", "21999.99", "22.00", "0.00", "78000.01", "22.00", "8.00", deal.OffTrack},
		},
		{
			// Per-deal thresholds 1 and 2: drift 1.5 is at risk.
			name:     "per-deal warn threshold",
			terms:    func(tm *deal.Terms) { tm.MarginWarnPts, tm.MarginCriticalPts = ptr(d("1")), ptr(d("2")) },
			invoices: []deal.Invoice{cost("I1", "subcontractor", "71500")},
			progress: progress("100"),
			want:     shown{"100000.00", "70000.00", "71500.00", "28500.00", "28.50", "0.00", "71500.00", "28.50", "1.50", deal.AtRisk},
		},
		{
			// Drift exactly 2 against a critical threshold of 2: at risk.
			name:     "per-deal critical threshold, on the boundary",
			terms:    func(tm *deal.Terms) { tm.MarginWarnPts, tm.MarginCriticalPts = ptr(d("1")), ptr(d("2")) },
			invoices: []deal.Invoice{cost("I1", "subcontractor", "72000")},
			progress: progress("100"),
			want:     shown{"100000.00", "70000.00", "72000.00", "28000.00", "28.00", "0.00", "72000.00", "28.00", "2.00", deal.AtRisk},
		},
		{
			name:     "per-deal critical threshold, just over",
			terms:    func(tm *deal.Terms) { tm.MarginWarnPts, tm.MarginCriticalPts = ptr(d("1")), ptr(d("2")) },
			invoices: []deal.Invoice{cost("I1", "subcontractor", "72000.01")},
			progress: progress("100"),
			want:     shown{"100000.00", "70000.00", "72000.01", "27999.99", "28.00", "0.00", "72000.01", "28.00", "2.00", deal.OffTrack},
		},
		{
			// An explicit planned cost replaces the default: 65,000 on day
			// 0; forecast 35%; drift -5.
			name:  "explicit planned cost",
			terms: func(tm *deal.Terms) { tm.PlannedCost = ptr(d("65000")) },
			want:  shown{"100000.00", "65000.00", "0.00", "100000.00", "100.00", "0.00", "65000.00", "35.00", "-5.00", deal.OnTrack},
		},
		{
			// Default planned cost with a target of 27.5%: 100,000 *
			// 0.725 = 72,500; on day 0 forecast = target, drift 0.
			name:  "default planned cost from the target",
			terms: func(tm *deal.Terms) { tm.TargetMarginPct = d("27.5") },
			want:  shown{"100000.00", "72500.00", "0.00", "100000.00", "100.00", "0.00", "72500.00", "27.50", "0.00", deal.OnTrack},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := deal.ComputeMargin(deal.MarginInputs{Terms: marginTerms(t, c.terms), Ledger: deal.LedgerOf(c.invoices, nil),
				ChangeOrders: c.cos, Progress: c.progress, Now: marginT0.Add(c.after)})
			if got := show(m); got != c.want {
				t.Errorf("\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestComputeMarginBreakdowns(t *testing.T) {
	m := deal.ComputeMargin(deal.MarginInputs{
		Terms: marginTerms(t, nil),
		Ledger: deal.LedgerOf([]deal.Invoice{cost("I1", "travel", "120.50"), cost("I2", "subcontractor", "20000"),
			cost("CN1", "subcontractor", "-2000"), fxCost(t, "U1", "license", "100.01", "USD", "0.5", false)},
			[]deal.Fee{{FeeID: "F1", Kind: "invoiced", Amount: d("40000")}, {FeeID: "F2", Kind: "invoiced", Amount: d("10000")},
				{FeeID: "F3", Kind: "collected", Amount: d("25000")}}),
		ChangeOrders: []deal.ChangeOrder{co("CO1", "5000", "3000", "pending"), co("CO2", "2500", "1000.50", "pending"),
			co("CO3", "4000", "1000", "approved")},
		Now: marginT0,
	})
	// By category, in the fixed order subcontractor, license, travel,
	// internal, leaving out categories with no invoice: subcontractor
	// 20,000 - 2,000 = 18,000; license 100.01 USD * 0.5 = 50.005 -> 50.01;
	// travel 120.50.
	want := []deal.CategoryCost{{Category: "subcontractor", Amount: d("18000")}, {Category: "license", Amount: d("50.01")},
		{Category: "travel", Amount: d("120.50")}}
	if len(m.CostByCategory) != len(want) {
		t.Fatalf("cost by category %v, want %v", m.CostByCategory, want)
	}
	for i := range want {
		if m.CostByCategory[i].Category != want[i].Category || !m.CostByCategory[i].Amount.Equal(want[i].Amount) {
			t.Errorf("cost by category %v, want %v", m.CostByCategory, want)
		}
	}
	// Fees: invoiced 40,000 + 10,000 = 50,000; collected 25,000; pending
	// 25,000. Pending change orders: 5,000 + 2,500 = 7,500 of revenue at
	// risk, 3,000 + 1,000.50 = 4,000.50 of cost.
	for name, pair := range map[string][2]decimal.Decimal{
		"actual cost":               {m.ActualCost, d("18170.51")},
		"fees invoiced":             {m.FeesInvoiced, d("50000")},
		"fees collected":            {m.FeesCollected, d("25000")},
		"fees pending":              {m.FeesPending, d("25000")},
		"pending change orders":     {m.PendingChangeOrders, d("7500")},
		"pending change order cost": {m.PendingChangeOrderCost, d("4000.50")},
		"revenue":                   {m.Revenue, d("104000")},
		"planned cost":              {m.PlannedCost, d("71000")},
	} {
		if !pair[0].Equal(pair[1]) {
			t.Errorf("%s = %s, want %s", name, pair[0], pair[1])
		}
	}
	if m.PctComplete != nil {
		t.Errorf("pct_complete %s without a progress report", m.PctComplete)
	}
}

// TestCheckMarginAlertsOnlyWhenStatusMoves is the margin-check loop at the
// level of the record: one alert when the status worsens, one when it
// recovers, none while it stays, and mitigation only while off track.
// The elapsed fraction counts from the schedule's start date (marginT0),
// not from the handover, so on day n it is n/100.
func TestCheckMarginAlertsOnlyWhenStatusMoves(t *testing.T) {
	d, err := dealtest.Open(dealtest.Terms("m1", marginT0), marginT0)
	if err != nil {
		t.Fatal(err)
	}
	r, st := d.Record, d.State
	steps := dealtest.ToDelivery()
	for i, s := range steps[:len(steps)-1] {
		if res := d.Send(marginT0.Add(time.Duration(i+1)*time.Minute), s.Signal, s.Payload); res.Status != deal.Accepted {
			t.Fatalf("setup %s: %+v", s.Signal, res)
		}
	}
	// Before the handover there is no delivery to watch: a cost is taken
	// but no check runs.
	d.Send(marginT0.Add(8*time.Minute), deal.SigInvoice, dealtest.Invoice("I0", "internal", "1", "2026-01-01").Payload)
	if len(d.Effects.Rows.Snapshots) != 0 || st.MarginChecks != 0 {
		t.Fatalf("a check ran before the handover: %d snapshots", len(d.Effects.Rows.Snapshots))
	}
	if d.Check(marginT0.Add(8 * time.Minute)); d.Effects.Rows.Len()+len(d.Effects.Notices) != 0 {
		t.Fatalf("CheckMargin before the handover did something: %+v", d.Effects)
	}
	h := steps[len(steps)-1]
	if res := d.Send(marginT0.Add(9*time.Minute), h.Signal, h.Payload); res.Status != deal.Accepted {
		t.Fatalf("handover: %+v", res)
	}

	type turn struct {
		day     int
		invoice string // an amount to invoice on that day instead of a timer check
		// what the turn must produce
		status string
		alert  string // "" for none, else kind from->to
		stage  deal.Stage
	}
	// drift = (actual - 70,000 e)/1,000 with actual including the 1 EUR of I0.
	turns := []turn{
		// Day 1: 20,000 more; actual 20,001; 70,000 e = 700; drift 19.3.
		{day: 1, invoice: "20000", status: deal.OffTrack, alert: "worsened on_track->off_track", stage: deal.Mitigation},
		// Day 2: drift (20,001 - 1,400)/1,000 = 18.6: same status, quiet.
		{day: 2, status: deal.OffTrack, stage: deal.Mitigation},
		// Day 21: (20,001 - 14,700)/1,000 = 5.3: recovered to at risk.
		{day: 21, status: deal.AtRisk, alert: "recovered off_track->at_risk", stage: deal.InProgress},
		// Day 22: 4.6, quiet.
		{day: 22, status: deal.AtRisk, stage: deal.InProgress},
		// Day 28: (20,001 - 19,600)/1,000 = 0.4: on track.
		{day: 28, status: deal.OnTrack, alert: "recovered at_risk->on_track", stage: deal.InProgress},
		// Day 29: quiet.
		{day: 29, status: deal.OnTrack, stage: deal.InProgress},
		// Day 30: 12,000 more; actual 32,001; 70,000 e = 21,000; drift 11.
		{day: 30, invoice: "12000", status: deal.OffTrack, alert: "worsened on_track->off_track", stage: deal.Mitigation},
	}
	for i, tu := range turns {
		now := marginT0.Add(time.Duration(tu.day) * mDay)
		checks := st.MarginChecks
		if tu.invoice != "" {
			res := d.Send(now, deal.SigInvoice, dealtest.Invoice("T"+tu.invoice, "subcontractor", tu.invoice, "2026-01-02").Payload)
			if res.Status != deal.Accepted {
				t.Fatalf("day %d invoice: %+v", tu.day, res)
			}
		} else {
			d.Check(now)
		}
		eff := d.Effects
		if snaps := eff.Rows.Snapshots; st.MarginChecks != checks+1 || len(snaps) != 1 || snaps[0].Seq != st.MarginChecks {
			t.Errorf("day %d: %d snapshots (seq %v), checks %d -> %d; want one, numbered %d", tu.day, len(snaps), snaps, checks, st.MarginChecks, checks+1)
		}
		var alerts []string
		for _, n := range eff.Notices {
			if n.Kind == deal.NoticeMarginAlert {
				alerts = append(alerts, n.Alert.Kind+" "+n.Alert.From+"->"+n.Alert.To)
			}
		}
		var want []string
		if tu.alert != "" {
			want = []string{tu.alert}
		}
		if !reflect.DeepEqual(alerts, want) {
			t.Errorf("turn %d (day %d): alerts %v, want %v", i, tu.day, alerts, want)
		}
		if st.Margin.Status != tu.status || st.Alerted != tu.status || r.AlertedMarginStatus() != tu.status || st.Stage != tu.stage {
			t.Errorf("turn %d (day %d): status %s (alerted %s) stage %s, want %s at %s", i, tu.day, st.Margin.Status, st.Alerted, st.Stage, tu.status, tu.stage)
		}
	}
	if len(r.Alerts) != 4 {
		t.Errorf("%d alerts on the record, want 4", len(r.Alerts))
	}
}
