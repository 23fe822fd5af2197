package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
)

// The five warning signs of a failing handover, each a figure with its
// definition (docs/warning-signs.md works every one through an example):
//
//  1. PMs asking AEs "what did you promise them?": Ask the AE, counted.
//  2. Kickoff finding scope that is not in the SOW.
//  3. Finance seeing margin problems weeks after they began.
//  4. The same AE overselling deal after deal (the flag, and its trend).
//  5. Operations keeping private spreadsheets: a proxy.

const (
	// FirstDays is the window after the close in which questions, and
	// after the handover sign-off in which change orders, count as found
	// at kickoff.
	FirstDays = 30
	// DefaultCloseLagDays is how long after a month's end finance closes
	// it, unless the settings say otherwise (DEALFLOW_CLOSE_LAG_DAYS).
	DefaultCloseLagDays = 10
	// TrendQuarters is how many calendar quarters the trend charts show,
	// the current one last.
	TrendQuarters = 4
)

// AlertTiming is one margin alert set against the invoice that caused it
// (the last invoice dealflow received before the alert) and against when a
// monthly close would have shown the same invoice.
type AlertTiming struct {
	AlertID     string    `json:"alert_id"`
	At          time.Time `json:"at"`
	InvoiceID   string    `json:"invoice_id"`
	InvoiceDate deal.Date `json:"invoice_date"`
	// DaysFromInvoice is from the invoice's date to the alert.
	DaysFromInvoice decimal.Decimal `json:"days_from_invoice"`
	// ProjectDay is the alert's day of delivery, counted from the handover
	// sign-off (from the close while the handover is open).
	ProjectDay decimal.Decimal `json:"project_day"`
	// MonthlyCloseAt is the end of the invoice's month plus finance's lag;
	// DaysBeforeMonthlyClose how much earlier the alert came.
	MonthlyCloseAt         time.Time       `json:"monthly_close_at"`
	DaysBeforeMonthlyClose decimal.Decimal `json:"days_before_monthly_close"`
}

// QuarterValue is one quarter of a trend: the figure over the deals won in
// it (nil when none counts).
type QuarterValue struct {
	Quarter string           `json:"quarter"` // 2026-Q3
	Deals   int              `json:"deals"`
	Value   *decimal.Decimal `json:"value,omitempty"`
}

// Trend is one sign's figure quarter by quarter, over every deal.
type Trend struct {
	Sign     int            `json:"sign"`
	Name     string         `json:"name"`
	Unit     string         `json:"unit"`
	Quarters []QuarterValue `json:"quarters"`
}

// signs fills DealSigns' five-sign figures from the record.
func (d *DealSigns) signs(r *deal.Record, o Options) {
	closed := d.ClosedAt
	start := closed
	if d.HandoverSignedOffAt != nil {
		start = *d.HandoverSignedOffAt
	}
	// Sign 1: questions to the AE in the first days after the close, and
	// how long each answer took.
	d.AnswerHours = []decimal.Decimal{}
	for _, q := range r.Questions {
		if !q.AskedAt.Before(closed) && q.AskedAt.Before(closed.AddDate(0, 0, FirstDays)) {
			d.QuestionsFirstDays++
		}
		if q.Answer != nil {
			d.AnswerHours = append(d.AnswerHours, hours(q.Answer.At.Sub(q.AskedAt)))
		} else {
			d.Unanswered++
		}
	}
	// Sign 2: change orders early in delivery, and commitments someone
	// tried to record after the close (the rules refuse them; the refusal
	// is the record that a promise surfaced late).
	d.ChangeOrdersFirstDays = []string{}
	if d.HandoverSignedOffAt != nil {
		for _, c := range r.ChangeOrders {
			if c.At.After(start) && c.At.Before(start.AddDate(0, 0, FirstDays)) {
				d.ChangeOrdersFirstDays = append(d.ChangeOrdersFirstDays, c.ID)
			}
		}
	}
	d.CommitmentsAfterClose = lateCommitments(r, closed)
	// Sign 3: how late invoices arrive, and alerts against a monthly close.
	lags := decimal.Zero
	for _, inv := range r.Invoices {
		lags = lags.Add(days(inv.ReceivedAt.Sub(inv.Date.Time)))
	}
	if n := len(r.Invoices); n > 0 {
		avg := lags.DivRound(decimal.NewFromInt(int64(n)), 1)
		d.AvgInvoiceLagDays = &avg
	}
	d.Alerts = []AlertTiming{}
	for _, a := range r.Alerts {
		if a.Kind != "worsened" {
			continue
		}
		if t, ok := alertTiming(r, a, start, o.closeLagDays()); ok {
			d.Alerts = append(d.Alerts, t)
		}
	}
	// Sign 5: lines that arrived after the handover with no trail before
	// the close.
	untraced := untracedInvoices(r, closed, d.HandoverSignedOffAt)
	d.ShadowLines = len(untraced) + len(d.CommitmentsAfterClose)
	d.ShadowOf = len(r.Invoices) + len(r.Commitments) + len(d.CommitmentsAfterClose)
	d.UntracedInvoices = untraced
	if d.ShadowOf > 0 {
		pct := decimal.NewFromInt(int64(d.ShadowLines*100)).DivRound(decimal.NewFromInt(int64(d.ShadowOf)), 1)
		d.ShadowPct = &pct
	}
	d.CorrectionFiles = o.CorrectionFiles[d.DealID]
}

// lateCommitments are the commitments refused because they came after the
// close, by the id they were sent with, leaving out ids recorded before it
// (a re-send of a promise already logged is no new promise).
func lateCommitments(r *deal.Record, closed time.Time) []string {
	known := map[string]bool{}
	for _, c := range r.Commitments {
		known[c.ID] = true
	}
	out := []string{}
	for _, f := range r.Refusals {
		if f.Signal != deal.SigCommitment || f.At.Before(closed) {
			continue
		}
		var c struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(f.Payload), &c) != nil || c.ID == "" {
			c.ID = fmt.Sprintf("refusal-%d", f.Seq)
		}
		if !known[c.ID] && !slices.Contains(out, c.ID) {
			out = append(out, c.ID)
		}
	}
	return out
}

// alertTiming sets an alert against the last invoice received before it.
func alertTiming(r *deal.Record, a deal.Alert, start time.Time, lagDays int) (AlertTiming, bool) {
	var cause *deal.Invoice
	for i := range r.Invoices {
		inv := &r.Invoices[i]
		if inv.ReceivedAt.After(a.At) {
			continue
		}
		if cause == nil || inv.ReceivedAt.After(cause.ReceivedAt) ||
			(inv.ReceivedAt.Equal(cause.ReceivedAt) && inv.InvoiceID > cause.InvoiceID) {
			cause = inv
		}
	}
	if cause == nil {
		return AlertTiming{}, false
	}
	y, m, _ := cause.Date.Date()
	closeAt := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, lagDays)
	return AlertTiming{AlertID: a.ID, At: a.At, InvoiceID: cause.InvoiceID, InvoiceDate: cause.Date,
		DaysFromInvoice: days(a.At.Sub(cause.Date.Time)), ProjectDay: days(a.At.Sub(start)),
		MonthlyCloseAt: closeAt, DaysBeforeMonthlyClose: days(closeAt.Sub(a.At))}, true
}

// untracedInvoices are the invoices received after the handover sign-off
// whose supplier left no trail before the close: no invoice from it
// received before the close, and no commitment or approved deliverable
// naming it. An invoice without a supplier has no trail either.
func untracedInvoices(r *deal.Record, closed time.Time, signedOff *time.Time) []string {
	out := []string{}
	if signedOff == nil {
		return out
	}
	var trail []string
	for _, c := range r.Commitments {
		trail = append(trail, strings.ToLower(c.Text+" "+c.Value))
	}
	for _, t := range r.Tickets {
		if t.Deliverable != nil {
			trail = append(trail, strings.ToLower(t.Deliverable.Body+" "+t.Deliverable.URL))
		}
	}
	before := map[string]bool{}
	for _, inv := range r.Invoices {
		if inv.ReceivedAt.Before(closed) && inv.Supplier != "" {
			before[strings.ToLower(inv.Supplier)] = true
		}
	}
	for _, inv := range r.Invoices {
		if !inv.ReceivedAt.After(*signedOff) {
			continue
		}
		s := strings.ToLower(strings.TrimSpace(inv.Supplier))
		named := s != "" && slices.ContainsFunc(trail, func(t string) bool { return strings.Contains(t, s) })
		if s == "" || (!before[s] && !named) {
			out = append(out, inv.InvoiceID)
		}
	}
	return out
}

// addSigns sums the five signs over one person's deals.
func (p *Person) addSigns(deals []DealSigns) {
	var answerHours []decimal.Decimal
	invoiceLag, invoiceLagDeals := decimal.Zero, 0
	alertLag, beforeClose, alerts := decimal.Zero, decimal.Zero, 0
	for _, d := range deals {
		p.QuestionsFirstDays += d.QuestionsFirstDays
		p.UnansweredQuestions += d.Unanswered
		answerHours = append(answerHours, d.AnswerHours...)
		p.ChangeOrdersFirstDays += len(d.ChangeOrdersFirstDays)
		p.CommitmentsAfterClose += len(d.CommitmentsAfterClose)
		if d.AvgInvoiceLagDays != nil {
			invoiceLag, invoiceLagDeals = invoiceLag.Add(*d.AvgInvoiceLagDays), invoiceLagDeals+1
		}
		for _, a := range d.Alerts {
			alertLag, beforeClose, alerts = alertLag.Add(a.DaysFromInvoice), beforeClose.Add(a.DaysBeforeMonthlyClose), alerts+1
		}
		p.ShadowLines += d.ShadowLines
		p.ShadowOf += d.ShadowOf
		p.CorrectionFiles += d.CorrectionFiles
	}
	if n := len(deals); n > 0 {
		v := decimal.NewFromInt(int64(p.QuestionsFirstDays)).DivRound(decimal.NewFromInt(int64(n)), 2)
		p.QuestionsPerDeal = &v
	}
	p.MedianAnswerHours = median(answerHours)
	p.KickoffScope = p.ScopeAmbiguities + p.ChangeOrdersFirstDays + p.CommitmentsAfterClose
	p.AvgInvoiceLagDays = mean(invoiceLag, invoiceLagDeals)
	p.AvgAlertDaysFromInvoice = mean(alertLag, alerts)
	p.AvgDaysBeforeMonthlyClose = mean(beforeClose, alerts)
	p.Alerts = alerts
	if p.ShadowOf > 0 {
		v := decimal.NewFromInt(int64(p.ShadowLines*100)).DivRound(decimal.NewFromInt(int64(p.ShadowOf)), 1)
		p.ShadowPct = &v
	}
}

// trendSigns are the five signs as one figure each, for a quarter's deals.
var trendSigns = []struct {
	name, unit string
	value      func(deals []DealSigns) *decimal.Decimal
}{
	{"Questions to the AE per won deal", "questions", func(ds []DealSigns) *decimal.Decimal {
		var p Person
		p.addSigns(ds)
		return p.QuestionsPerDeal
	}},
	{"Scope found at kickoff per won deal", "items", func(ds []DealSigns) *decimal.Decimal {
		if len(ds) == 0 {
			return nil
		}
		n := 0
		for _, d := range ds {
			n += len(d.ScopeAmbiguities) + len(d.ChangeOrdersFirstDays) + len(d.CommitmentsAfterClose)
		}
		v := decimal.NewFromInt(int64(n)).DivRound(decimal.NewFromInt(int64(len(ds))), 2)
		return &v
	}},
	{"Days from an invoice to its margin alert", "days", func(ds []DealSigns) *decimal.Decimal {
		var p Person
		p.addSigns(ds)
		return p.AvgAlertDaysFromInvoice
	}},
	{"Points below target", "pts", func(ds []DealSigns) *decimal.Decimal {
		return summarize("", ds).AvgPtsBelowTarget
	}},
	{"Lines with no trail before the close", "%", func(ds []DealSigns) *decimal.Decimal {
		var p Person
		p.addSigns(ds)
		return p.ShadowPct
	}},
}

// trends computes each sign by quarter of the close over all deals given.
func trends(all []DealSigns, now time.Time) []Trend {
	quarters := lastQuarters(now, TrendQuarters)
	byQuarter := groupBy(all, func(d DealSigns) string { return Quarter(d.ClosedAt) })
	out := []Trend{}
	for i, s := range trendSigns {
		t := Trend{Sign: i + 1, Name: s.name, Unit: s.unit, Quarters: []QuarterValue{}}
		for _, q := range quarters {
			ds := byQuarter[q]
			t.Quarters = append(t.Quarters, QuarterValue{Quarter: q, Deals: len(ds), Value: s.value(ds)})
		}
		out = append(out, t)
	}
	return out
}

// personTrend is one AE's points below target by quarter (sign 4).
func personTrend(deals []DealSigns, now time.Time) []QuarterValue {
	byQuarter := groupBy(deals, func(d DealSigns) string { return Quarter(d.ClosedAt) })
	out := []QuarterValue{}
	for _, q := range lastQuarters(now, TrendQuarters) {
		ds := byQuarter[q]
		out = append(out, QuarterValue{Quarter: q, Deals: len(ds), Value: summarize("", ds).AvgPtsBelowTarget})
	}
	return out
}

// Quarter names a time's calendar quarter in UTC: 2026-Q3.
func Quarter(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
}

// TrendSince is the start of the first quarter the trends show.
func TrendSince(now time.Time) time.Time {
	now = now.UTC()
	first := time.Date(now.Year(), time.Month((int(now.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	return first.AddDate(0, -3*(TrendQuarters-1), 0)
}

func lastQuarters(now time.Time, n int) []string {
	var out []string
	for q := TrendSince(now); len(out) < n; q = q.AddDate(0, 3, 0) {
		out = append(out, Quarter(q))
	}
	return out
}

func median(xs []decimal.Decimal) *decimal.Decimal {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b decimal.Decimal) int { return a.Cmp(b) })
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = s[len(s)/2-1].Add(m).DivRound(decimal.NewFromInt(2), 1)
	}
	return &m
}

func mean(sum decimal.Decimal, n int) *decimal.Decimal {
	if n == 0 {
		return nil
	}
	v := sum.DivRound(decimal.NewFromInt(int64(n)), 1)
	return &v
}

// hours and days are a duration to one decimal place, exactly.
func hours(d time.Duration) decimal.Decimal {
	return decimal.NewFromInt(int64(d/time.Second)).DivRound(decimal.NewFromInt(3600), 1)
}

func days(d time.Duration) decimal.Decimal {
	return decimal.NewFromInt(int64(d/time.Second)).DivRound(decimal.NewFromInt(86400), 1)
}
