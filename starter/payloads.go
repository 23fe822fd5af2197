package main

import (
	"context"
	"flag"
	"io"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"dealflow/deal"
)

// Values are checked against deal's vocabulary before anything is sent;
// the workflow checks every one of them again.
var (
	movableStages = []string{string(deal.Maintenance), string(deal.ClosedWon)}
	hundred       = decimal.NewFromInt(100)
)

// Each signal command below binds flags named after its payload's JSON
// fields and checks what can be checked before sending.

func runSignoff(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigSignoff,
		"--deal ID --ticket T --by U --side internal|client --decision approve|changes_requested [--kind K] [--url URL] [--body TEXT] [--note TEXT] [--id ID]",
		bindSignoff, checkSignoff))
}

func bindSignoff(fs *flag.FlagSet, p *deal.SignoffSignal) {
	deliverable := func() *deal.Deliverable {
		if p.Deliverable == nil {
			p.Deliverable = &deal.Deliverable{}
		}
		return p.Deliverable
	}
	fs.StringVar(&p.Ticket, "ticket", "", "the presale ticket: "+strings.Join(deal.PresaleTickets, ", "))
	fs.StringVar(&p.By, "by", "", "Slack user id of who signs (the ticket's owner)")
	fs.StringVar(&p.Side, "side", "", "internal, or client where the deal needs the client's sign-off")
	fs.StringVar(&p.Decision, "decision", "", "approve or changes_requested")
	fs.Func("kind", "the deliverable's kind (defaults to the ticket's: discovery_notes, scoping_decision_log, ...)", func(s string) error {
		deliverable().Kind = s
		return nil
	})
	fs.Func("url", "the deliverable's link", func(s string) error { deliverable().URL = s; return nil })
	fs.Func("body", "the deliverable's text", func(s string) error { deliverable().Body = s; return nil })
	fs.StringVar(&p.Note, "note", "", "a note; required when asking for changes")
	fs.StringVar(&p.ID, "id", "", "optional id making a re-sent sign-off a no-op")
}

func checkSignoff(c *checker, p *deal.SignoffSignal) {
	if c.need("ticket", p.Ticket) && !slices.Contains(deal.PresaleTickets, p.Ticket) {
		c.add("unknown ticket %q; the presale tickets are %s", p.Ticket, strings.Join(deal.PresaleTickets, ", "))
	}
	c.need("by", p.By)
	c.oneOf("side", p.Side, deal.SignoffSides)
	c.oneOf("decision", p.Decision, deal.SignoffDecisions)
	if p.Client != nil {
		// The client's own sign-off comes from the link's page, which
		// checked the link; the starter has nothing to vouch for it with.
		c.add("\"client\" is set only by the page of a client link; send the link with `starter client-link`, or record the client's decision without \"client\"")
	}
	switch p.Decision {
	case "approve":
		if d := p.Deliverable; d == nil || (strings.TrimSpace(d.URL) == "" && strings.TrimSpace(d.Body) == "") {
			if c.flags != nil {
				c.add("approving needs the deliverable: --url or --body")
			} else {
				c.add("approving needs the deliverable: \"deliverable\" with a \"url\" or \"body\"")
			}
		}
	case "changes_requested":
		if strings.TrimSpace(p.Note) == "" {
			c.add("asking for changes needs %s saying what to change", c.name("note"))
		}
	}
}

func runCommitment(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigCommitment,
		"--deal ID --id ID --kind K --text TEXT [--value V] --by U", bindCommitment, checkCommitment))
}

func bindCommitment(fs *flag.FlagSet, p *deal.CommitmentSignal) {
	fs.StringVar(&p.ID, "id", "", "the commitment's id, acknowledged by the PM at handover (c1, c2, ...)")
	fs.StringVar(&p.Kind, "kind", "", strings.Join(deal.CommitmentKinds, ", "))
	fs.StringVar(&p.Text, "text", "", "what was promised")
	fs.StringVar(&p.Value, "value", "", "its value, if any (10%, 2026-03-01, ...)")
	fs.StringVar(&p.By, "by", "", "Slack user id of who promised it")
}

func checkCommitment(c *checker, p *deal.CommitmentSignal) {
	c.need("id", p.ID)
	c.oneOf("kind", p.Kind, deal.CommitmentKinds)
	c.need("text", p.Text)
	c.need("by", p.By)
}

func runClose(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigClose,
		"--deal ID --outcome won|lost --by U [--reason TEXT]", bindClose, checkClose))
}

func bindClose(fs *flag.FlagSet, p *deal.CloseSignal) {
	fs.StringVar(&p.Outcome, "outcome", "", "won or lost")
	fs.StringVar(&p.By, "by", "", "Slack user id of the AE")
	fs.StringVar(&p.Reason, "reason", "", "why")
}

func checkClose(c *checker, p *deal.CloseSignal) {
	c.oneOf("outcome", p.Outcome, deal.CloseOutcomes)
	c.need("by", p.By)
}

func runHandover(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigHandover,
		"--deal ID --by U [--deliverables-reviewed] [--ack c1,c2] [--ambiguity TEXT]... | [--no-ambiguities] [--resources-confirmed] [--signed-off]",
		bindHandover, checkHandover))
}

func bindHandover(fs *flag.FlagSet, p *deal.HandoverSignal) {
	ambiguities := func() *[]string {
		if p.Checklist.ScopeAmbiguities == nil {
			p.Checklist.ScopeAmbiguities = &[]string{}
		}
		return p.Checklist.ScopeAmbiguities
	}
	fs.StringVar(&p.By, "by", "", "Slack user id of the deal's PM")
	fs.BoolVar(&p.Checklist.DeliverablesReviewed, "deliverables-reviewed", false, "the presale deliverables are reviewed")
	listVar(fs, &p.Checklist.CommitmentsAcknowledged, "ack", "commitment ids acknowledged, comma-separated or repeated")
	fs.Func("ambiguity", "a scope ambiguity (repeat the flag for each)", func(s string) error {
		*ambiguities() = append(*ambiguities(), s)
		return nil
	})
	fs.BoolFunc("no-ambiguities", "state that the scope has no ambiguities", func(string) error {
		ambiguities()
		return nil
	})
	fs.BoolVar(&p.Checklist.ResourcesConfirmed, "resources-confirmed", false, "the delivery team is confirmed")
	fs.BoolVar(&p.SignedOff, "signed-off", false, "sign the handover off: delivery starts (the checklist must be complete)")
}

func checkHandover(c *checker, p *deal.HandoverSignal) {
	c.need("by", p.By)
	if c.flags != nil && c.flags["ambiguity"] && c.flags["no-ambiguities"] {
		c.add("--ambiguity and --no-ambiguities contradict each other")
	}
	if p.SignedOff && p.Checklist.ScopeAmbiguities == nil {
		if c.flags != nil {
			c.add("signing off needs the scope ambiguities stated: --ambiguity TEXT (repeatable) or --no-ambiguities")
		} else {
			c.add("signing off needs checklist.scope_ambiguities stated (an empty list when there are none)")
		}
	}
}

func runStage(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigStage,
		"--deal ID --to maintenance|closed_won --by U", bindStage, checkStage))
}

func bindStage(fs *flag.FlagSet, p *deal.StageSignal) {
	fs.Func("to", "maintenance or closed_won", func(s string) error { p.To = deal.Stage(s); return nil })
	fs.StringVar(&p.By, "by", "", "Slack user id of the PM or the GM")
}

func checkStage(c *checker, p *deal.StageSignal) {
	if c.need("to", string(p.To)) {
		switch {
		case !slices.Contains(deal.Stages, p.To):
			c.add("unknown stage %q; stages are %s", p.To, stageList())
		case !slices.Contains(movableStages, string(p.To)):
			c.add("a deal is moved by hand only to maintenance or closed_won, not %s; the other stages follow from sign-offs, close and handover", p.To)
		}
	}
	c.need("by", p.By)
}

func stageList() string {
	var s []string
	for _, st := range deal.Stages {
		s = append(s, string(st))
	}
	return strings.Join(s, ", ")
}

func runIncident(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigIncident,
		"--deal ID --incident-id ID --severity critical|major|minor --status open|resolved [--title TEXT]", bindIncident, checkIncident))
}

func bindIncident(fs *flag.FlagSet, p *deal.IncidentSignal) {
	fs.StringVar(&p.IncidentID, "incident-id", "", "the incident's id; the same id updates it")
	fs.StringVar(&p.Severity, "severity", "", "critical, major or minor (an open critical incident puts the deal in mitigation)")
	fs.StringVar(&p.Status, "status", "", "open or resolved")
	fs.StringVar(&p.Title, "title", "", "what happened (required for a new incident)")
}

func checkIncident(c *checker, p *deal.IncidentSignal) {
	c.need("incident_id", p.IncidentID)
	c.oneOf("severity", p.Severity, deal.Severities)
	c.oneOf("status", p.Status, deal.IncidentStatuses)
}

func runFee(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigFee,
		"--deal ID --fee-id ID --kind invoiced|collected --amount N --currency CUR --date YYYY-MM-DD", bindFee, checkFee))
}

func bindFee(fs *flag.FlagSet, p *deal.FeeSignal) {
	fs.StringVar(&p.FeeID, "fee-id", "", "the fee's id")
	fs.StringVar(&p.Kind, "kind", "", "invoiced or collected")
	decimalVar(fs, &p.Amount, "amount", "the amount, a decimal such as 40000.00")
	fs.StringVar(&p.Currency, "currency", "", "the deal's currency (EUR, ...)")
	dateVar(fs, &p.Date, "date", "the fee's date, YYYY-MM-DD")
}

func checkFee(c *checker, p *deal.FeeSignal) {
	c.need("fee_id", p.FeeID)
	c.oneOf("kind", p.Kind, deal.FeeKinds)
	c.needSet("amount", p.Amount.IsZero())
	c.need("currency", p.Currency)
	c.needSet("date", p.Date.IsZero())
}

// bindInvoice and checkInvoice serve `starter invoice` with flags; see
// invoice.go for finance files.
func bindInvoice(fs *flag.FlagSet, p *deal.InvoiceSignal) {
	fs.StringVar(&p.InvoiceID, "invoice-id", "", "the supplier invoice's id")
	fs.StringVar(&p.Category, "category", "", strings.Join(deal.InvoiceCategories, ", "))
	decimalVar(fs, &p.Amount, "amount", "the amount, a decimal such as 12000.50 (negative only with --credit)")
	fs.StringVar(&p.Currency, "currency", "", "the invoice's currency")
	dateVar(fs, &p.Date, "date", "the invoice's date, YYYY-MM-DD")
	fs.StringVar(&p.Supplier, "supplier", "", "who sent it")
	fs.StringVar(&p.Memo, "memo", "", "a note")
	decimalPtrVar(fs, &p.FXRate, "fx-rate", "converts the amount into the deal's currency; required when the currencies differ")
	fs.BoolVar(&p.Credit, "credit", false, "a credit note: the amount is taken off the cost")
}

func checkInvoice(c *checker, p *deal.InvoiceSignal) {
	c.need("invoice_id", p.InvoiceID)
	c.oneOf("category", p.Category, deal.InvoiceCategories)
	c.needSet("amount", p.Amount.IsZero())
	c.need("currency", p.Currency)
	c.needSet("date", p.Date.IsZero())
}

func runChangeOrder(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigChangeOrder,
		"--deal ID --id ID --amount N [--planned-cost N] --status pending|approved|rejected --by U", bindChangeOrder, checkChangeOrder))
}

func bindChangeOrder(fs *flag.FlagSet, p *deal.ChangeOrderSignal) {
	fs.StringVar(&p.ID, "id", "", "the change order's id; the same id moves it from pending to approved or rejected")
	decimalVar(fs, &p.Amount, "amount", "what it adds to (or, negative, takes off) the revenue")
	decimalVar(fs, &p.PlannedCost, "planned-cost", "what it adds to the planned cost")
	fs.StringVar(&p.Status, "status", "", "pending, approved or rejected")
	fs.StringVar(&p.By, "by", "", "Slack user id of the AE, PM or GM")
}

func checkChangeOrder(c *checker, p *deal.ChangeOrderSignal) {
	c.need("id", p.ID)
	c.needSet("amount", p.Amount.IsZero())
	c.oneOf("status", p.Status, deal.ChangeOrderStatuses)
	c.need("by", p.By)
}

func runProgress(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigProgress,
		"--deal ID --pct-complete N --by U", bindProgress, checkProgress))
}

func bindProgress(fs *flag.FlagSet, p *deal.ProgressSignal) {
	decimalVar(fs, &p.PctComplete, "pct-complete", "percent of the delivery done, above 0 and at most 100")
	fs.StringVar(&p.By, "by", "", "Slack user id of the PM")
}

func checkProgress(c *checker, p *deal.ProgressSignal) {
	c.needSet("pct_complete", p.PctComplete.IsZero())
	c.need("by", p.By)
	if !p.PctComplete.IsZero() && (p.PctComplete.IsNegative() || p.PctComplete.GreaterThan(hundred)) {
		c.add("%s must be above 0 and at most 100, not %s", c.name("pct_complete"), p.PctComplete)
	}
}
