package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/db"
	"dealflow/deal"
)

// runRecord prints a deal as PostgreSQL holds it (DATABASE_URL): a
// readable summary, or with --json the record itself. It answers for an
// ended deal too; `temporal workflow query --type record` gives the
// running workflow's process state instead.
func runRecord(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("record", "--deal ID [--json]   (reads the worker's database at DATABASE_URL)")
	dealID := fs.String("deal", "", "the deal's id")
	asJSON := fs.Bool("json", false, "print the raw record as JSON")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if *dealID == "" || fs.NArg() > 0 {
		return usageError{"usage: starter record --deal ID [--json]"}
	}
	store, closeStore, err := openStore(ctx, "starter record")
	if err != nil {
		return err
	}
	defer closeStore()
	rec, err := store.LoadRecord(ctx, *dealID)
	if errors.Is(err, db.ErrNotFound) {
		return noSuchDeal{id: *dealID, err: err}
	}
	if err != nil {
		return notOurDatabase(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rec)
	}
	writeSummary(stdout, rec)
	return nil
}

// writeSummary is the record for people: the newest state of each part,
// with enough history to see how the deal got there.
func writeSummary(w io.Writer, r *deal.Record) {
	t := r.Terms
	cur := t.Currency
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }

	p("Deal %s: %s / %s", t.DealID, t.Client, t.Workstream)
	stage := string(r.Stage)
	if r.Stage == deal.Mitigation && r.BaseStage != "" {
		stage += " (over " + string(r.BaseStage) + ")"
	}
	p("  Stage:     %s", stage)
	p("  Contract:  %s %s, target margin %s%%, %s to %s", money(t.ContractValue), cur, t.TargetMarginPct.StringFixed(2), t.StartDate, t.EndDate)
	p("  People:    AE %s, presales %s, pricing %s, PM %s, GM %s", t.People.AE, t.People.Presales, t.People.PricingApprover, t.People.PM, t.People.GM)
	if t.SlackChannel != "" {
		p("  Slack:     %s", t.SlackChannel)
	}

	p("\nStage history")
	for _, h := range r.History {
		from := string(h.From)
		if from == "" {
			from = "-"
		}
		line := fmt.Sprintf("  %2d. %s  %s -> %s  by %s", h.Seq, when(h.At), from, h.To, h.By)
		if h.Reason != "" {
			line += " (" + h.Reason + ")"
		}
		p("%s", line)
	}

	p("\nTickets")
	if len(r.Tickets) == 0 {
		p("  none")
	}
	for _, tk := range r.Tickets {
		approvals := "internal approval " + yesNo(tk.InternalApproved)
		if tk.ClientSignoffRequired {
			approvals += ", client approval " + yesNo(tk.ClientApproved)
		}
		p("  %-10s %-9s owner %s; %s", tk.ID, tk.Status, tk.Owner, approvals)
		if d := tk.Deliverable; d != nil {
			p("             deliverable %s: %s", d.Kind, deliverableText(d))
		}
		for _, s := range tk.Signoffs {
			line := fmt.Sprintf("             #%d %s %s %s %s", s.Seq, when(s.At), s.By, s.Side, s.Decision)
			if s.Note != "" {
				line += fmt.Sprintf(" %q", s.Note)
			}
			if s.Refused {
				line += " REFUSED: " + s.Reason
			}
			p("%s", line)
		}
	}

	p("\nCommitments")
	if len(r.Commitments) == 0 {
		p("  none")
	}
	for _, c := range r.Commitments {
		line := fmt.Sprintf("  %s  %s: %s", c.ID, c.Kind, c.Text)
		if c.Value != "" {
			line += " (" + c.Value + ")"
		}
		p("%s  by %s", line, c.By)
	}

	if r.Close != nil {
		line := fmt.Sprintf("\nClosed %s by %s on %s", r.Close.Outcome, r.Close.By, when(r.Close.At))
		if r.Close.Reason != "" {
			line += ": " + r.Close.Reason
		}
		p("%s", line)
	}

	p("\nHandover")
	if h := r.Handover; h == nil {
		p("  not opened (the deal opens it when it is won)")
	} else {
		status := h.Status + ", PM " + h.PM
		if h.SignedOffAt != nil {
			status += fmt.Sprintf(", signed off by %s on %s", h.SignedOffBy, when(*h.SignedOffAt))
		}
		p("  %s", status)
		cl := h.Checklist
		p("  [%s] deliverables reviewed", tick(cl.DeliverablesReviewed))
		acked := "none"
		if len(cl.CommitmentsAcknowledged) > 0 {
			acked = strings.Join(cl.CommitmentsAcknowledged, ", ")
		}
		p("  [%s] commitments acknowledged: %s", tick(len(r.Commitments) == 0 || allAcked(r.Commitments, cl.CommitmentsAcknowledged)), acked)
		switch {
		case cl.ScopeAmbiguities == nil:
			p("  [ ] scope ambiguities: not stated")
		case len(*cl.ScopeAmbiguities) == 0:
			p("  [x] scope ambiguities: none")
		default:
			p("  [x] scope ambiguities: %s", strings.Join(*cl.ScopeAmbiguities, "; "))
		}
		p("  [%s] resources confirmed", tick(cl.ResourcesConfirmed))
	}

	p("\nIncidents")
	if len(r.Incidents) == 0 {
		p("  none")
	}
	for _, i := range r.Incidents {
		p("  %s  %s %s: %s (opened %s, updated %s)", i.IncidentID, i.Severity, i.Status, i.Title, when(i.OpenedAt), when(i.UpdatedAt))
	}

	m := r.Margin
	p("\nFees")
	p("  invoiced %s, collected %s, pending %s %s", money(m.FeesInvoiced), money(m.FeesCollected), money(m.FeesPending), cur)

	p("\nMargin (as of %s)", when(m.AsOf))
	p("  Revenue:      %s %s", money(m.Revenue), cur)
	var cats []string
	for _, c := range m.CostByCategory {
		cats = append(cats, c.Category+" "+money(c.Amount))
	}
	actual := fmt.Sprintf("  Actual cost:  %s %s", money(m.ActualCost), cur)
	if len(cats) > 0 {
		actual += " (" + strings.Join(cats, ", ") + ")"
	}
	p("%s", actual)
	p("  Planned cost: %s %s", money(m.PlannedCost), cur)
	basis := fmt.Sprintf("%s%% of the schedule elapsed", m.ElapsedPct.StringFixed(2))
	if m.PctComplete != nil {
		basis = fmt.Sprintf("%s%% complete", m.PctComplete.StringFixed(2))
	}
	p("  EAC:          %s %s (%s)", money(m.EAC), cur, basis)
	p("  Forecast:     %s%% against target %s%% (drift %s points)", m.ForecastMarginPct.StringFixed(2), m.TargetMarginPct.StringFixed(2), m.DriftPts.StringFixed(2))
	status := m.Status
	if told := r.AlertedMarginStatus(); told != m.Status {
		status += " (last alerted: " + told + ")"
	}
	p("  Status:       %s", status)
	if !m.PendingChangeOrders.IsZero() || !m.PendingChangeOrderCost.IsZero() {
		p("  Pending change orders: %s %s revenue, %s cost", money(m.PendingChangeOrders), cur, money(m.PendingChangeOrderCost))
	}

	if len(r.ChangeOrders) > 0 {
		p("\nChange orders")
		for _, c := range r.ChangeOrders {
			p("  %s  %s: amount %s, planned cost %s %s, by %s", c.ID, c.Status, money(c.Amount), money(c.PlannedCost), cur, c.By)
		}
	}

	p("\nAlerts")
	if len(r.Alerts) == 0 {
		p("  none")
	}
	for _, a := range r.Alerts {
		p("  %s  %s %s -> %s on %s (forecast %s%%)", a.ID, a.Kind, a.From, a.To, when(a.At), a.Margin.ForecastMarginPct.StringFixed(2))
	}

	p("\nRefusals")
	if len(r.Refusals) == 0 {
		p("  none")
	}
	for _, f := range r.Refusals {
		p("  #%d %s  %s: %s", f.Seq, when(f.At), f.Signal, f.Reason)
	}
}

func money(d decimal.Decimal) string { return d.StringFixed(2) }

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func tick(b bool) string {
	if b {
		return "x"
	}
	return " "
}

func deliverableText(d *deal.Deliverable) string {
	var parts []string
	if d.URL != "" {
		parts = append(parts, d.URL)
	}
	if d.Body != "" {
		parts = append(parts, fmt.Sprintf("%q", d.Body))
	}
	return strings.Join(parts, " ")
}

func allAcked(cs []deal.Commitment, acked []string) bool {
	for _, c := range cs {
		if !slices.Contains(acked, c.ID) {
			return false
		}
	}
	return true
}

// noSuchDeal is a deal the database does not know; it still answers
// errors.Is(err, db.ErrNotFound).
type noSuchDeal struct {
	id  string
	err error
}

func (e noSuchDeal) Error() string { return "unknown deal " + e.id + ": the database has no such deal" }
func (e noSuchDeal) Unwrap() error { return e.err }
