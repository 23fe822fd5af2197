package server

import (
	"encoding/json"
	"html/template"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/report"
	"dealflow/workflows"
)

// What the templates receive: the record as it is, plus what is easier to
// decide in Go than in a template.

type dealFilter struct{ Client, AE, PM, Stage string }

type dealsView struct {
	Filter  dealFilter
	Options dbq.ListDealFilterOptionsRow
	Stages  []deal.Stage
	Clients []clientDeals
	Count   int
}

// clientDeals are one client's workstreams, listed together.
type clientDeals struct {
	Client string
	Deals  []dbq.Deal
}

func groupByClient(rows []dbq.Deal) []clientDeals {
	var out []clientDeals
	for _, d := range rows {
		if n := len(out); n > 0 && out[n-1].Client == d.Client {
			out[n-1].Deals = append(out[n-1].Deals, d)
			continue
		}
		out = append(out, clientDeals{Client: d.Client, Deals: []dbq.Deal{d}})
	}
	return out
}

type dealView struct {
	R          *deal.Record
	WorkflowID string
	Path       []pathStep
	// Delivery is true once the handover is signed off: from then on the
	// margin is watched and the forecast means something.
	Delivery bool
	// Acked says which commitments the PM acknowledged at handover.
	Acked    map[string]bool
	Chart    *marginChart
	Refusals []deal.Refusal
	// ClientLinks is true when client links are on; Links are the deal's
	// by ticket.
	ClientLinks bool
	Links       map[string][]linkView
	// Used are the ids of links used for a decision: a client sign-off
	// naming another link did not come through one, and the page says so.
	Used map[string]bool
}

// pathStep is one stage on the deal's road, as done, current or to come.
type pathStep struct {
	Stage deal.Stage
	State string
}

func newDealView(r *deal.Record, snaps []dbq.MarginSnapshot) dealView {
	warn, crit := thresholds(r.Terms)
	v := dealView{R: r, WorkflowID: workflows.WorkflowID(r.Terms.DealID), Path: stagePath(r), Delivery: r.BaseStage != "",
		Acked: map[string]bool{}, Chart: newMarginChart(snaps, warn, crit)}
	if r.Handover != nil {
		for _, id := range r.Handover.Checklist.CommitmentsAcknowledged {
			v.Acked[id] = true
		}
	}
	// The newest refusals matter most; twenty is enough to see a pattern.
	v.Refusals = slices.Clone(r.Refusals)
	slices.Reverse(v.Refusals)
	if len(v.Refusals) > 20 {
		v.Refusals = v.Refusals[:20]
	}
	return v
}

// thresholds are the deal's warn and critical drifts in points, the
// protocol's defaults unless its terms set them.
func thresholds(t deal.Terms) (warn, crit decimal.Decimal) {
	warn, crit = decimal.NewFromInt(deal.DefaultWarnPts), decimal.NewFromInt(deal.DefaultCriticalPts)
	if t.MarginWarnPts != nil {
		warn = *t.MarginWarnPts
	}
	if t.MarginCriticalPts != nil {
		crit = *t.MarginCriticalPts
	}
	return warn, crit
}

// stagePath is the road from discovery to closed_won, with mitigation
// shown where the deal went through it, and a lost deal's road ending at
// closed_lost.
func stagePath(r *deal.Record) []pathStep {
	visited := map[deal.Stage]bool{}
	for _, c := range r.History {
		visited[c.To] = true
	}
	var road []deal.Stage
	if r.Stage == deal.ClosedLost {
		for _, st := range []deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing} {
			if visited[st] {
				road = append(road, st)
			}
		}
		road = append(road, deal.ClosedLost)
	} else {
		road = []deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress}
		if visited[deal.Mitigation] {
			road = append(road, deal.Mitigation)
		}
		road = append(road, deal.Maintenance, deal.ClosedWon)
	}
	steps := make([]pathStep, len(road))
	for i, st := range road {
		state := "todo"
		switch {
		case st == r.Stage:
			state = "current"
		case visited[st]:
			state = "done"
		}
		steps[i] = pathStep{Stage: st, State: state}
	}
	return steps
}

type reportView struct {
	Report       report.Report
	Definitions  []report.Definition
	PatternDeals int
	// Charts are the five signs' quarterly trends (pages_signs_chart.go).
	Charts []signChart
}

type errorView struct {
	Code    int
	Status  string
	Message string
}

var pageFuncs = template.FuncMap{
	"money":  money,
	"pct":    func(d decimal.Decimal) string { return d.StringFixed(2) },
	"fixed":  func(d *decimal.Decimal, places int32) string { return optional(d, places) },
	"when":   when,
	"whenp":  func(t *time.Time) string { return whenPtr(t) },
	"day":    func(t time.Time) string { return dayOf(t) },
	"label":  func(s any) string { return strings.ReplaceAll(toString(s), "_", " ") },
	"mark":   func(ok bool) string { return map[bool]string{true: "✓", false: "✗"}[ok] },
	"status": statusClass,
	"join":   strings.Join,
	"isNeg":  func(d decimal.Decimal) bool { return d.IsNegative() },
	"deref":  func(d *decimal.Decimal) decimal.Decimal { return *d },
	"minus":  func(a, b int) int { return a - b },
	// Links are built from ids and names with these, never by pasting
	// them into a URL: html/template leaves '?', '#' and "%41" in a path
	// as they are, and older deal ids hold such characters.
	"dealPath":      dealPath,
	"newQuestionID": newQuestionID,
	"clientFilter":  func(client string) string { return "/deals?client=" + url.QueryEscape(client) },
	// person shows a Slack user id with its cached name; render replaces
	// it with the request's names, and without them it is the id.
	"person": func(id string) string { return id },
	"peopleTable": func(title, who, id string, people []report.Person, flags bool) peopleTable {
		return peopleTable{Title: title, Who: who, ID: id, People: people, Flags: flags}
	},
}

// peopleTable is one per-person table of the report.
type peopleTable struct {
	Title, Who, ID string
	People         []report.Person
	Flags          bool
}

// money prints an amount to the cent with thousands separated, the way a
// finance person reads it: 1,234,567.89.
func money(d decimal.Decimal) string {
	s := d.StringFixed(2)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, cents, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String() + "." + cents
}

func optional(d *decimal.Decimal, places int32) string {
	if d == nil {
		return "—"
	}
	return d.StringFixed(places)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return when(*t)
}

func dayOf(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02")
}

func toString(v any) string {
	switch x := v.(type) {
	case deal.Stage:
		return string(x)
	case string:
		return x
	}
	return ""
}

// statusClass colours a margin status, a stage or an incident severity.
func statusClass(s any) string {
	switch toString(s) {
	case deal.OnTrack, "resolved", "signed_off", "closed", "approved":
		return "ok"
	case deal.AtRisk, "major", "pending", "open", string(deal.Handover):
		return "warn"
	case deal.OffTrack, "critical", string(deal.Mitigation), "rejected", string(deal.ClosedLost):
		return "bad"
	}
	return ""
}

// dealPath is the path of a deal's page, or of what is under it, each
// segment escaped; the mux hands the handlers the segments unescaped.
func dealPath(id string, under ...string) string {
	p := "/deals/" + url.PathEscape(id)
	for _, seg := range under {
		p += "/" + url.PathEscape(seg)
	}
	return p
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// recordPeople lists the user ids a deal page shows, for their names.
func recordPeople(r *deal.Record) []string {
	p := r.Terms.People
	ids := []string{p.AE, p.Presales, p.PricingApprover, p.PM, p.GM}
	for _, h := range r.History {
		ids = append(ids, h.By)
	}
	for _, t := range r.Tickets {
		ids = append(ids, t.Owner)
		for _, so := range t.Signoffs {
			ids = append(ids, so.By)
		}
	}
	for _, c := range r.Commitments {
		ids = append(ids, c.By)
	}
	if h := r.Handover; h != nil {
		ids = append(ids, h.PM, h.SignedOffBy)
	}
	for _, co := range r.ChangeOrders {
		ids = append(ids, co.By)
	}
	return ids
}
