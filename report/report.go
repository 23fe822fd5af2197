// Package report computes the early-warning signs of a failing handover from
// the deal records, so leadership sees a pattern months before an audit
// would. Build is pure: it takes records and a clock and returns figures,
// which the HTTP page, `starter report` and the tests all share. Load reads
// the records from PostgreSQL.
package report

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
)

// DefaultDays is the report's window: deals won in the last 90 days are
// "recent". A quarter is long enough for three deals of one AE and short
// enough that an old habit already fixed does not keep a flag alive.
const DefaultDays = 90

// PatternDeals is how many of an AE's latest deals must drift the same way
// to raise a flag.
const PatternDeals = 3

// Options shape a report.
type Options struct {
	Now  time.Time
	Days int // window in days; DefaultDays when 0
	// CloseLagDays is how many days after a month's end finance closes it
	// (sign 3); CloseLagDaysFromEnv reads it.
	CloseLagDays int
	// CorrectionFiles counts, by deal id, the bulk finance files whose
	// rows for the deal only corrected earlier ones (sign 5; Load reads
	// them from PostgreSQL).
	CorrectionFiles map[string]int
}

func (o Options) closeLagDays() int {
	if o.CloseLagDays <= 0 {
		return DefaultCloseLagDays
	}
	return o.CloseLagDays
}

func (o Options) days() int {
	if o.Days <= 0 {
		return DefaultDays
	}
	return o.Days
}

// Since is the start of the window.
func (o Options) Since() time.Time { return o.Now.AddDate(0, 0, -o.days()) }

// Report is the whole early-warning report.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	Since       time.Time `json:"since"`
	Days        int       `json:"days"`
	// CloseLagDays is the finance close lag sign 3 is set against.
	CloseLagDays int `json:"close_lag_days"`
	// Trends are the five signs quarter by quarter over every deal won in
	// the last TrendQuarters quarters, whatever the window.
	Trends []Trend `json:"trends"`
	// Flags name the AEs whose last three deals drifted the same way.
	Flags []Flag      `json:"flags"`
	ByAE  []Person    `json:"by_ae"`
	ByPM  []Person    `json:"by_pm"`
	Deals []DealSigns `json:"deals"`
	// Names are the people's names Slack gave (the worker's cache), by user
	// id; the figures keep the ids. Empty when nothing is cached.
	Names deal.Names `json:"names,omitempty"`
}

// DealSigns are the warning signs of one won deal.
type DealSigns struct {
	DealID     string     `json:"deal_id"`
	Client     string     `json:"client"`
	Workstream string     `json:"workstream"`
	AE         string     `json:"ae"`
	PM         string     `json:"pm"`
	Currency   string     `json:"currency"`
	Stage      deal.Stage `json:"stage"`
	ClosedAt   time.Time  `json:"closed_at"`
	// ScopeAmbiguities are those the PM flagged in the handover checklist.
	ScopeAmbiguities []string `json:"scope_ambiguities"`
	// CommitmentsOutsideDeliverables are ids of commitments no approved
	// presale deliverable mentions (see outsideDeliverables).
	CommitmentsOutsideDeliverables []string `json:"commitments_outside_deliverables"`
	// ChangeOrdersAfterHandover are ids of change orders recorded after the
	// handover sign-off, whatever became of them.
	ChangeOrdersAfterHandover []string `json:"change_orders_after_handover"`
	// HandoverSignedOffAt is nil while the handover is open.
	HandoverSignedOffAt *time.Time `json:"handover_signed_off_at,omitempty"`
	// DaysToSignoff is from the close to the handover sign-off.
	DaysToSignoff *decimal.Decimal `json:"days_to_signoff,omitempty"`
	// The margin figures are known once delivery started (the handover is
	// signed off); before that they stay empty.
	TargetMarginPct   *decimal.Decimal `json:"target_margin_pct,omitempty"`
	ForecastMarginPct *decimal.Decimal `json:"forecast_margin_pct,omitempty"`
	// PtsBelowTarget is target minus forecast in percentage points: positive
	// when the forecast is under the sold margin, negative when above it.
	PtsBelowTarget *decimal.Decimal `json:"pts_below_target,omitempty"`
	WarnPts        decimal.Decimal  `json:"warn_pts"`
	// TopCostCategory is the category that took the most actual cost.
	TopCostCategory string `json:"top_cost_category,omitempty"`
	// Client approvals that counted: given by the client through a link,
	// or recorded by the owner on the client's behalf.
	ClientSignoffsByClient int `json:"client_signoffs_by_client"`
	ClientSignoffsOnBehalf int `json:"client_signoffs_on_behalf"`

	// Sign 1: questions to the AE in the first FirstDays after the close,
	// the hours each answer took, and those still unanswered.
	QuestionsFirstDays int               `json:"questions_first_days"`
	AnswerHours        []decimal.Decimal `json:"answer_hours"`
	Unanswered         int               `json:"unanswered"`
	// Sign 2 (with ScopeAmbiguities): change orders in the first FirstDays
	// of delivery, and commitments sent after the close that were never
	// recorded before it.
	ChangeOrdersFirstDays []string `json:"change_orders_first_days"`
	CommitmentsAfterClose []string `json:"commitments_after_close"`
	// Sign 3: the mean days from an invoice's date to its arrival, and
	// every margin alert set against its invoice and a monthly close.
	AvgInvoiceLagDays *decimal.Decimal `json:"avg_invoice_lag_days,omitempty"`
	Alerts            []AlertTiming    `json:"alerts"`
	// Sign 5: lines (invoices, commitments) that came after the handover
	// with no trail before the close, of all the deal's lines, and bulk
	// finance files that only corrected earlier rows.
	UntracedInvoices []string         `json:"untraced_invoices"`
	ShadowLines      int              `json:"shadow_lines"`
	ShadowOf         int              `json:"shadow_of"`
	ShadowPct        *decimal.Decimal `json:"shadow_pct,omitempty"`
	CorrectionFiles  int              `json:"correction_files"`
}

// InDelivery is true once the handover is signed off, when the margin
// against the sold one starts to mean something.
func (d DealSigns) InDelivery() bool { return d.PtsBelowTarget != nil }

// DriftedUnder is true when the forecast is below target by more than the
// deal's warning threshold (the margin issue's at_risk or off_track).
func (d DealSigns) DriftedUnder() bool {
	return d.PtsBelowTarget != nil && d.PtsBelowTarget.GreaterThan(d.WarnPts)
}

// Person sums the signs over one AE's or one PM's recent deals.
type Person struct {
	Person                         string           `json:"person"`
	Deals                          []string         `json:"deals"`
	ScopeAmbiguities               int              `json:"scope_ambiguities"`
	CommitmentsOutsideDeliverables int              `json:"commitments_outside_deliverables"`
	ChangeOrdersAfterHandover      int              `json:"change_orders_after_handover"`
	InDelivery                     int              `json:"in_delivery"`
	AvgPtsBelowTarget              *decimal.Decimal `json:"avg_pts_below_target,omitempty"`
	HandoversSignedOff             int              `json:"handovers_signed_off"`
	AvgDaysToSignoff               *decimal.Decimal `json:"avg_days_to_signoff,omitempty"`
	HandoversOpen                  int              `json:"handovers_open"`
	ClientSignoffsByClient         int              `json:"client_signoffs_by_client"`
	ClientSignoffsOnBehalf         int              `json:"client_signoffs_on_behalf"`
	Flagged                        bool             `json:"flagged"`

	// The five signs summed over the person's deals (signs.go).
	QuestionsFirstDays        int              `json:"questions_first_days"`
	QuestionsPerDeal          *decimal.Decimal `json:"questions_per_deal,omitempty"`
	MedianAnswerHours         *decimal.Decimal `json:"median_answer_hours,omitempty"`
	UnansweredQuestions       int              `json:"unanswered_questions"`
	ChangeOrdersFirstDays     int              `json:"change_orders_first_days"`
	CommitmentsAfterClose     int              `json:"commitments_after_close"`
	KickoffScope              int              `json:"kickoff_scope"`
	AvgInvoiceLagDays         *decimal.Decimal `json:"avg_invoice_lag_days,omitempty"`
	Alerts                    int              `json:"alerts"`
	AvgAlertDaysFromInvoice   *decimal.Decimal `json:"avg_alert_days_from_invoice,omitempty"`
	AvgDaysBeforeMonthlyClose *decimal.Decimal `json:"avg_days_before_monthly_close,omitempty"`
	ShadowLines               int              `json:"shadow_lines"`
	ShadowOf                  int              `json:"shadow_of"`
	ShadowPct                 *decimal.Decimal `json:"shadow_pct,omitempty"`
	CorrectionFiles           int              `json:"correction_files"`
	// PtsByQuarter is sign 4's trend: the person's mean points below
	// target by quarter of the close.
	PtsByQuarter []QuarterValue `json:"pts_by_quarter"`
}

// Flag is an AE whose last PatternDeals deals past handover all came in
// under the sold margin with the same cost category taking the most.
type Flag struct {
	AE       string      `json:"ae"`
	Category string      `json:"category"`
	Deals    []DealSigns `json:"deals"` // newest first
}

// Build computes the report over records: every deal won inside the window
// counts; lost and still-presale deals do not.
func Build(records []*deal.Record, o Options) Report {
	rep := Report{GeneratedAt: o.Now, Days: o.days(), Since: o.Since(), CloseLagDays: o.closeLagDays(),
		Flags: []Flag{}, ByAE: []Person{}, ByPM: []Person{}, Deals: []DealSigns{}}
	var trendDeals []DealSigns
	for _, r := range records {
		if r.Close == nil || r.Close.Outcome != "won" || r.Close.At.After(o.Now) {
			continue
		}
		d := Signs(r, o)
		if !r.Close.At.Before(TrendSince(o.Now)) {
			trendDeals = append(trendDeals, d)
		}
		if !r.Close.At.Before(rep.Since) {
			rep.Deals = append(rep.Deals, d)
		}
	}
	rep.Trends = trends(trendDeals, o.Now)
	trendByAE := groupBy(trendDeals, func(d DealSigns) string { return d.AE })
	slices.SortFunc(rep.Deals, func(a, b DealSigns) int {
		return cmp.Or(a.ClosedAt.Compare(b.ClosedAt), cmp.Compare(a.DealID, b.DealID))
	})
	byAE := groupBy(rep.Deals, func(d DealSigns) string { return d.AE })
	for _, ae := range sortedKeys(byAE) {
		p := summarize(ae, byAE[ae])
		p.PtsByQuarter = personTrend(trendByAE[ae], o.Now)
		if f, ok := DriftPattern(ae, byAE[ae]); ok {
			p.Flagged = true
			rep.Flags = append(rep.Flags, f)
		}
		rep.ByAE = append(rep.ByAE, p)
	}
	byPM := groupBy(rep.Deals, func(d DealSigns) string { return d.PM })
	for _, pm := range sortedKeys(byPM) {
		rep.ByPM = append(rep.ByPM, summarize(pm, byPM[pm]))
	}
	return rep
}

// Signs reads the warning signs off one won deal.
func Signs(r *deal.Record, o Options) DealSigns {
	d := handoverSigns(r)
	d.signs(r, o) // signs.go
	return d
}

// handoverSigns are the signs the handover shows: scope, commitments, the
// sign-off and the margin.
func handoverSigns(r *deal.Record) DealSigns {
	t := r.Terms
	d := DealSigns{DealID: t.DealID, Client: t.Client, Workstream: t.Workstream, AE: t.People.AE, PM: t.People.PM,
		Currency: t.Currency, Stage: r.Stage, ScopeAmbiguities: []string{},
		CommitmentsOutsideDeliverables: outsideDeliverables(r), ChangeOrdersAfterHandover: []string{},
		WarnPts: decimal.NewFromInt(deal.DefaultWarnPts)}
	if r.Close != nil {
		d.ClosedAt = r.Close.At
	}
	if t.MarginWarnPts != nil {
		d.WarnPts = *t.MarginWarnPts
	}
	d.ClientSignoffsByClient, d.ClientSignoffsOnBehalf = clientSignoffs(r)
	h := r.Handover
	if h == nil || h.Status != "signed_off" || h.SignedOffAt == nil {
		return d
	}
	if h.Checklist.ScopeAmbiguities != nil {
		d.ScopeAmbiguities = slices.Clone(*h.Checklist.ScopeAmbiguities)
	}
	at := *h.SignedOffAt
	d.HandoverSignedOffAt = &at
	days := decimal.NewFromInt(int64(at.Sub(d.ClosedAt)/time.Second)).DivRound(decimal.NewFromInt(86400), 1)
	d.DaysToSignoff = &days
	for _, c := range r.ChangeOrders {
		if c.At.After(at) {
			d.ChangeOrdersAfterHandover = append(d.ChangeOrdersAfterHandover, c.ID)
		}
	}
	m := r.Margin
	target, forecast, drift := m.TargetMarginPct, m.ForecastMarginPct, m.DriftPts
	d.TargetMarginPct, d.ForecastMarginPct, d.PtsBelowTarget = &target, &forecast, &drift
	d.TopCostCategory = topCategory(m.CostByCategory)
	return d
}

// clientSignoffs counts the client approvals that counted, by who gave
// them: the client in person (through a link) or the owner on their
// behalf. An AE whose clients never sign themselves sells on word of mouth.
func clientSignoffs(r *deal.Record) (byClient, onBehalf int) {
	for _, t := range r.Tickets {
		for _, s := range t.Signoffs {
			switch {
			case s.Refused || s.Side != "client" || s.Decision != "approve":
			case s.Client != nil:
				byClient++
			default:
				onBehalf++
			}
		}
	}
	return byClient, onBehalf
}

// outsideDeliverables lists the commitments that no approved presale
// deliverable mentions, by its id as a word (such as "c2") or by its whole
// text, ignoring case. The handover gate makes the PM acknowledge every
// commitment, so an acknowledgement says nothing; what shows a promise
// made on the side is that it never reached the documents the deal was
// scoped, proposed and priced on.
func outsideDeliverables(r *deal.Record) []string {
	var docs []string
	for _, t := range r.Tickets {
		if t.Deliverable != nil {
			docs = append(docs, strings.ToLower(t.Deliverable.Body+"\n"+t.Deliverable.URL))
		}
	}
	out := []string{}
	for _, c := range r.Commitments {
		idWord := regexp.MustCompile(`(?i)(^|[^\pL\pN_-])` + regexp.QuoteMeta(c.ID) + `($|[^\pL\pN_-])`)
		text := strings.ToLower(strings.TrimSpace(c.Text))
		mentioned := slices.ContainsFunc(docs, func(doc string) bool {
			return idWord.MatchString(doc) || (text != "" && strings.Contains(doc, text))
		})
		if !mentioned {
			out = append(out, c.ID)
		}
	}
	return out
}

// topCategory is the category that took the most actual cost; a tie goes
// to the first in deal.InvoiceCategories order, which CostByCategory keeps.
// Planned cost has no categories, so the category that took the most money
// is the one the overrun is put on.
func topCategory(costs []deal.CategoryCost) string {
	top, best := "", decimal.Zero
	for _, c := range costs {
		if c.Amount.GreaterThan(best) {
			top, best = c.Category, c.Amount
		}
	}
	return top
}

// DriftPattern flags an AE whose last PatternDeals won deals past handover
// (newest by close) all came in under target by more than their warning
// threshold, with the same category taking the most cost. deals are the
// AE's deals in the window.
func DriftPattern(ae string, deals []DealSigns) (Flag, bool) {
	var delivered []DealSigns
	for _, d := range deals {
		if d.InDelivery() {
			delivered = append(delivered, d)
		}
	}
	if len(delivered) < PatternDeals {
		return Flag{}, false
	}
	slices.SortFunc(delivered, func(a, b DealSigns) int {
		return cmp.Or(b.ClosedAt.Compare(a.ClosedAt), cmp.Compare(b.DealID, a.DealID))
	})
	last := delivered[:PatternDeals]
	cat := last[0].TopCostCategory
	for _, d := range last {
		if !d.DriftedUnder() || cat == "" || d.TopCostCategory != cat {
			return Flag{}, false
		}
	}
	return Flag{AE: ae, Category: cat, Deals: slices.Clone(last)}, true
}

func summarize(who string, deals []DealSigns) Person {
	p := Person{Person: who, Deals: []string{}}
	drift, days := decimal.Zero, decimal.Zero
	for _, d := range deals {
		p.Deals = append(p.Deals, d.DealID)
		p.ScopeAmbiguities += len(d.ScopeAmbiguities)
		p.CommitmentsOutsideDeliverables += len(d.CommitmentsOutsideDeliverables)
		p.ChangeOrdersAfterHandover += len(d.ChangeOrdersAfterHandover)
		p.ClientSignoffsByClient += d.ClientSignoffsByClient
		p.ClientSignoffsOnBehalf += d.ClientSignoffsOnBehalf
		if d.PtsBelowTarget != nil {
			p.InDelivery++
			drift = drift.Add(*d.PtsBelowTarget)
		}
		if d.DaysToSignoff != nil {
			p.HandoversSignedOff++
			days = days.Add(*d.DaysToSignoff)
		} else {
			p.HandoversOpen++
		}
	}
	if p.InDelivery > 0 {
		avg := drift.DivRound(decimal.NewFromInt(int64(p.InDelivery)), 2)
		p.AvgPtsBelowTarget = &avg
	}
	if p.HandoversSignedOff > 0 {
		avg := days.DivRound(decimal.NewFromInt(int64(p.HandoversSignedOff)), 1)
		p.AvgDaysToSignoff = &avg
	}
	p.addSigns(deals)
	p.PtsByQuarter = []QuarterValue{}
	return p
}

func groupBy(deals []DealSigns, key func(DealSigns) string) map[string][]DealSigns {
	g := map[string][]DealSigns{}
	for _, d := range deals {
		g[key(d)] = append(g[key(d)], d)
	}
	return g
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
