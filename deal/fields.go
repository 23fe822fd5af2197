package deal

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is what a field may hold. Each kind has one rule (checkValue), and
// that rule applies wherever the field arrives: a signal, an update, the
// start input, a starter flag, a finance file or a Slack form.
type Kind string

const (
	KindID       Kind = "id"
	KindRef      Kind = "ref"
	KindKey      Kind = "key"
	KindPerson   Kind = "person"
	KindText     Kind = "text"
	KindNote     Kind = "note"
	KindURL      Kind = "url"
	KindEmail    Kind = "email"
	KindMoney    Kind = "money"
	KindRate     Kind = "rate"
	KindPercent  Kind = "percent"
	KindCurrency Kind = "currency"
	KindDate     Kind = "date"
	KindTime     Kind = "time"
	KindEnum     Kind = "enum"
	KindBool     Kind = "bool"
	KindDays     Kind = "days"
	KindDuration Kind = "duration"
	KindObject   Kind = "object"
)

// kindRules says in words what checkValue enforces, for the README.
var kindRules = []struct {
	Kind Kind
	Rule string
}{
	{KindID, "a JSON string of 1 to 128 characters from `A-Z a-z 0-9 . _ - :`, starting with a letter or digit: safe in a URL path and in a Slack block as it is"},
	{KindRef, "an id that may also hold `/`, for numbers other systems assign (invoice and fee numbers such as `FV/2026/11/001`)"},
	{KindKey, "the id of something already recorded (a deal, a commitment): 1 to 128 characters, not blank, no control characters; it must name one that exists, so ids recorded before these rules still work"},
	{KindPerson, "a Slack user id: 1 to 64 characters from `A-Z a-z 0-9 _ . -`"},
	{KindText, "valid UTF-8 with no control characters, at most the field's length in characters"},
	{KindNote, "text that may also hold line breaks and tabs"},
	{KindURL, "an absolute `http` or `https` URL with a host, at most 2,000 characters, no spaces or control characters"},
	{KindEmail, "text with one `@` and no spaces, at most 254 characters"},
	{KindMoney, "a JSON string (never a JSON number) holding a decimal: an optional `-`, 1 to 12 integer digits, optionally `.` and digits; no more decimal places than its currency's ISO 4217 minor unit (EUR 2, JPY 0, KWD 3); the sign rule is the field's"},
	{KindRate, "a decimal string greater than 0, at most 12 integer digits and 10 decimal places"},
	{KindPercent, "a decimal string from 0 to 100 with at most 4 decimal places; the field's range applies"},
	{KindCurrency, "an ISO 4217 currency code in capitals, such as `EUR` as listed by ISO 4217 (metals and test codes such as `XAU` and `XXX` are not taken)"},
	{KindDate, "a calendar day written `YYYY-MM-DD`, years 2000 to 2199"},
	{KindTime, "an instant in RFC 3339 (`2026-03-01T09:30:00Z`, a zone offset required), years 2000 to 2199"},
	{KindEnum, "one of the listed words, exactly as written"},
	{KindBool, "JSON `true` or `false` (in a CSV file: `true` or `false` in any case, or empty)"},
	{KindDays, "a whole JSON number of days in the field's range"},
	{KindDuration, "a Go duration of at least 1s, such as `24h` or `30m`"},
	{KindObject, "a JSON object with the fields listed under it"},
}

// Field is one field of one input, as the README's table shows it.
type Field struct {
	Path     string // input, then the field: "invoice.amount"
	Kind     Kind
	Required bool
	List     bool     // a JSON list of values of the kind
	Max      int      // characters, for text kinds; 0 for the kind's own limit
	MaxItems int      // for lists
	Values   []string // for KindEnum
	Rule     string   // what holds beyond the kind, in words
}

// Input names the inputs; "terms" is a deal's start input and "finance" a
// row of a finance file (JSON or CSV).
var Inputs = []string{"terms", SigSignoff, SigCommitment, SigClose, SigHandover, SigStage, SigIncident,
	SigFee, SigInvoice, SigChangeOrder, SigProgress, SigQuestion, SigAnswer, "finance"}

var presaleTickets = PresaleTickets

// Fields is every field of every input: one place that defines what each
// may hold. The README's field table is rendered from it (FieldTable).
var Fields = func() []Field {
	fs := []Field{
		{Path: "terms.deal_id", Kind: KindID, Required: true, Rule: "the workflow id is `deal-` and this"},
		{Path: "terms.client", Kind: KindText, Required: true, Max: 200},
		{Path: "terms.workstream", Kind: KindText, Required: true, Max: 200},
		{Path: "terms.currency", Kind: KindCurrency, Required: true},
		{Path: "terms.contract_value", Kind: KindMoney, Required: true, Rule: "above 0"},
		{Path: "terms.target_margin_pct", Kind: KindPercent, Required: true, Rule: "from 0 to below 100"},
		{Path: "terms.planned_cost", Kind: KindMoney, Rule: "0 or more; default contract_value × (1 − target_margin_pct/100), rounded to the currency's minor unit"},
		{Path: "terms.start_date", Kind: KindDate, Required: true},
		{Path: "terms.end_date", Kind: KindDate, Required: true, Rule: "after start_date"},
		{Path: "terms.people", Kind: KindObject, Required: true},
		{Path: "terms.people.ae", Kind: KindPerson, Required: true},
		{Path: "terms.people.presales", Kind: KindPerson, Required: true},
		{Path: "terms.people.pricing_approver", Kind: KindPerson, Required: true},
		{Path: "terms.people.pm", Kind: KindPerson, Required: true},
		{Path: "terms.people.gm", Kind: KindPerson, Required: true},
		{Path: "terms.client_signoff", Kind: KindEnum, List: true, MaxItems: len(PresaleTickets), Values: presaleTickets, Rule: "the tickets the client signs off too; each at most once"},
		{Path: "terms.slack_channel", Kind: KindID},
		{Path: "terms.margin_warn_pts", Kind: KindPercent, Rule: "above 0; default 3"},
		{Path: "terms.margin_critical_pts", Kind: KindPercent, Rule: "above margin_warn_pts; default 8"},
		{Path: "terms.margin_check_every", Kind: KindDuration, Rule: "default 24h"},
		{Path: "terms.late_cost_days", Kind: KindDays, Rule: "0 to 3650; default 90"},
		{Path: "terms.client_link_days", Kind: KindDays, Rule: fmt.Sprintf("1 to %d; default %d", MaxClientLinkDays, DefaultClientLinkDays)},
		{Path: "terms.time_zone", Kind: KindText, Max: 64, Rule: "an IANA time zone name such as `Europe/Berlin`; business days are Monday to Friday there; default `DEALFLOW_TIME_ZONE` where the deal is opened, else UTC"},
		{Path: "terms.holidays", Kind: KindDate, List: true, MaxItems: MaxHolidays, Rule: "days that are not business days; default `DEALFLOW_HOLIDAYS` where the deal is opened"},

		{Path: "signoff.id", Kind: KindID, Rule: "given, a re-sent sign-off with the same id is a repeat"},
		{Path: "signoff.ticket", Kind: KindEnum, Required: true, Values: presaleTickets},
		{Path: "signoff.by", Kind: KindPerson, Required: true, Rule: "the ticket's owner"},
		{Path: "signoff.side", Kind: KindEnum, Required: true, Values: SignoffSides},
		{Path: "signoff.decision", Kind: KindEnum, Required: true, Values: SignoffDecisions},
		{Path: "signoff.deliverable", Kind: KindObject, Rule: "required to approve"},
		{Path: "signoff.deliverable.kind", Kind: KindEnum, Values: deliverableKinds(), Rule: "the ticket's own; default the ticket's"},
		{Path: "signoff.deliverable.body", Kind: KindNote, Max: maxBodyLen, Rule: "a body or a url"},
		{Path: "signoff.deliverable.url", Kind: KindURL},
		{Path: "signoff.note", Kind: KindNote, Max: maxTextLen, Rule: "required to ask for changes"},
		{Path: "signoff.client", Kind: KindObject, Rule: "set by the client sign-off page only"},
		{Path: "signoff.client.name", Kind: KindText, Required: true, Max: 200},
		{Path: "signoff.client.email", Kind: KindEmail, Required: true},
		{Path: "signoff.client.evidence", Kind: KindID, Required: true},
		{Path: "signoff.client.link_id", Kind: KindID, Required: true},

		{Path: "commitment.id", Kind: KindID, Required: true},
		{Path: "commitment.kind", Kind: KindEnum, Required: true, Values: CommitmentKinds},
		{Path: "commitment.text", Kind: KindNote, Required: true, Max: maxCommitmentTextSz},
		{Path: "commitment.value", Kind: KindText, Max: maxTextLen, Rule: "the discount, date or figure promised, as said"},
		{Path: "commitment.by", Kind: KindPerson, Required: true, Rule: "who heard the promise made"},

		{Path: "close.outcome", Kind: KindEnum, Required: true, Values: CloseOutcomes},
		{Path: "close.by", Kind: KindPerson, Required: true, Rule: "the AE"},
		{Path: "close.reason", Kind: KindNote, Max: maxTextLen},

		{Path: "handover.by", Kind: KindPerson, Required: true, Rule: "the PM"},
		{Path: "handover.checklist", Kind: KindObject, Required: true},
		{Path: "handover.checklist.deliverables_reviewed", Kind: KindBool},
		{Path: "handover.checklist.commitments_acknowledged", Kind: KindKey, List: true, MaxItems: MaxCommitments, Rule: "every commitment on the deal"},
		{Path: "handover.checklist.scope_ambiguities", Kind: KindNote, List: true, Max: maxTextLen, MaxItems: MaxAmbiguities, Rule: "stated to sign off, even when empty"},
		{Path: "handover.checklist.resources_confirmed", Kind: KindBool},
		{Path: "handover.signed_off", Kind: KindBool},

		{Path: "stage.to", Kind: KindEnum, Required: true, Values: []string{string(Maintenance), string(ClosedWon)}},
		{Path: "stage.by", Kind: KindPerson, Required: true, Rule: "the PM or the GM"},

		{Path: "incident.incident_id", Kind: KindID, Required: true},
		{Path: "incident.severity", Kind: KindEnum, Required: true, Values: Severities},
		{Path: "incident.status", Kind: KindEnum, Required: true, Values: IncidentStatuses},
		{Path: "incident.title", Kind: KindText, Max: 500},

		{Path: "fee.fee_id", Kind: KindRef, Required: true, Rule: "one per fee event"},
		{Path: "fee.kind", Kind: KindEnum, Required: true, Values: FeeKinds},
		{Path: "fee.amount", Kind: KindMoney, Required: true, Rule: "above 0, in the deal's currency"},
		{Path: "fee.currency", Kind: KindCurrency, Required: true, Rule: "the deal's"},
		{Path: "fee.date", Kind: KindDate, Required: true},

		{Path: "invoice.invoice_id", Kind: KindRef, Required: true},
		{Path: "invoice.category", Kind: KindEnum, Required: true, Values: InvoiceCategories},
		{Path: "invoice.amount", Kind: KindMoney, Required: true, Rule: "not 0; below 0 only on a credit note"},
		{Path: "invoice.currency", Kind: KindCurrency, Required: true},
		{Path: "invoice.date", Kind: KindDate, Required: true},
		{Path: "invoice.supplier", Kind: KindText, Max: 200},
		{Path: "invoice.memo", Kind: KindText, Max: 500},
		{Path: "invoice.fx_rate", Kind: KindRate, Rule: "required when the currency is not the deal's, and then deal amount = amount × fx_rate, rounded to the deal currency's minor unit, half away from zero; in the deal's own currency only 1"},
		{Path: "invoice.credit", Kind: KindBool, Rule: "a credit note; kept negative whichever sign it was sent with"},

		{Path: "change_order.id", Kind: KindID, Required: true},
		{Path: "change_order.amount", Kind: KindMoney, Required: true, Rule: "the change to revenue, either sign; approved, revenue must stay above 0"},
		{Path: "change_order.planned_cost", Kind: KindMoney, Required: true, Rule: "the change to planned cost, either sign; approved, planned cost must stay 0 or more; not both 0"},
		{Path: "change_order.status", Kind: KindEnum, Required: true, Values: ChangeOrderStatuses},
		{Path: "change_order.by", Kind: KindPerson, Required: true, Rule: "the AE, PM or GM"},

		{Path: "progress.pct_complete", Kind: KindPercent, Required: true, Rule: "above 0, at most 2 decimal places"},
		{Path: "progress.by", Kind: KindPerson, Required: true, Rule: "the PM"},

		{Path: "question.id", Kind: KindID, Required: true, Rule: "a re-sent question with the same id is a repeat"},
		{Path: "question.by", Kind: KindPerson, Required: true, Rule: "the PM or the GM, once the deal is won"},
		{Path: "question.text", Kind: KindNote, Required: true, Max: MaxQuestionLen, Rule: fmt.Sprintf("escalated to the GM when unanswered after %d business days", EscalateAfterBusinessDays)},

		{Path: "answer.question_id", Kind: KindKey, Required: true, Rule: "a question on the deal; one answer each"},
		{Path: "answer.by", Kind: KindPerson, Required: true, Rule: "the AE"},
		{Path: "answer.text", Kind: KindNote, Required: true, Max: MaxAnswerLen},
	}
	// A finance row is an invoice and the deal it belongs to.
	fs = append(fs, Field{Path: "finance.deal_id", Kind: KindKey, Required: true})
	for _, f := range slices.Clone(fs) {
		if name, ok := strings.CutPrefix(f.Path, SigInvoice+"."); ok {
			f.Path = "finance." + name
			fs = append(fs, f)
		}
	}
	// Every signal may carry the envelope (Envelope).
	for _, sig := range SignalNames {
		fs = append(fs,
			Field{Path: sig + ".key", Kind: KindID, Rule: "an idempotency key: sent again with the same key, the first answer, and nothing changes"},
			Field{Path: sig + ".acted_at", Kind: KindTime, Rule: "when the person acted, as the source stamps it; an older value never overwrites a newer one"})
	}
	return fs
}()

func deliverableKinds() []string {
	var out []string
	for _, t := range PresaleTickets {
		out = append(out, ticketSpecs[Stage(t)].deliverable)
	}
	return out
}

// fieldIndex finds a field by its path.
var fieldIndex = func() map[string]*Field {
	m := make(map[string]*Field, len(Fields))
	for i := range Fields {
		m[Fields[i].Path] = &Fields[i]
	}
	return m
}()

// FieldOf is the field at path ("invoice.amount"), or nil.
func FieldOf(path string) *Field { return fieldIndex[path] }

// childrenOf lists the names of the fields directly under an object path.
func childrenOf(path string) []string {
	var out []string
	for _, f := range Fields {
		if name, ok := strings.CutPrefix(f.Path, path+"."); ok && !strings.Contains(name, ".") {
			out = append(out, name)
		}
	}
	return out
}

// FieldTable renders Fields and the kinds' rules as the README shows them.
func FieldTable() string {
	var b strings.Builder
	b.WriteString("| Kind | Rule |\n|---|---|\n")
	for _, k := range kindRules {
		fmt.Fprintf(&b, "| %s | %s |\n", k.Kind, k.Rule)
	}
	b.WriteString("\n| Input | Field | Kind | Required | Limit and rule |\n|---|---|---|---|---|\n")
	for _, f := range Fields {
		input, name, _ := strings.Cut(f.Path, ".")
		kind := string(f.Kind)
		if f.List {
			kind = "list of " + kind
		}
		req := ""
		if f.Required {
			req = "yes"
		}
		var rule []string
		if f.Max > 0 {
			rule = append(rule, fmt.Sprintf("at most %d characters", f.Max))
		}
		if f.MaxItems > 0 {
			rule = append(rule, fmt.Sprintf("at most %d items", f.MaxItems))
		}
		if len(f.Values) > 0 {
			rule = append(rule, "`"+strings.Join(f.Values, "`, `")+"`")
		}
		if f.Rule != "" {
			rule = append(rule, f.Rule)
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", input, name, kind, req, strings.Join(rule, "; "))
	}
	return b.String()
}

// The README's field table stands between these markers.
const (
	tableBegin = "<!-- field-table:begin -->\n"
	tableEnd   = "<!-- field-table:end -->"
)

// WithFieldTable is readme with FieldTable between its markers.
func WithFieldTable(readme string) (string, error) {
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %q … %q markers", tableBegin, tableEnd)
	}
	return readme[:i+len(tableBegin)] + FieldTable() + readme[j:], nil
}
