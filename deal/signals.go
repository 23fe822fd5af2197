package deal

import (
	"time"

	"github.com/shopspring/decimal"
)

// Signal names: the workflow listens on these and the starter, the Slack
// handler and finance intake send them.
const (
	SigSignoff     = "signoff"
	SigCommitment  = "commitment"
	SigClose       = "close"
	SigHandover    = "handover"
	SigStage       = "stage"
	SigIncident    = "incident"
	SigFee         = "fee"
	SigInvoice     = "invoice"
	SigChangeOrder = "change_order"
	SigProgress    = "progress"
	SigQuestion    = "question"
	SigAnswer      = "answer"
)

// SignalNames lists every signal in a fixed order.
var SignalNames = []string{SigSignoff, SigCommitment, SigClose, SigHandover, SigStage, SigIncident, SigFee, SigInvoice, SigChangeOrder, SigProgress, SigQuestion, SigAnswer}

// The values signal fields may take. The rules in apply.go check them, and
// the starter checks them too, before anything is sent.
var (
	PresaleTickets      = []string{string(Discovery), string(Scoping), string(Proposal), string(Pricing)}
	SignoffSides        = []string{"internal", "client"}
	SignoffDecisions    = []string{"approve", "changes_requested"}
	CloseOutcomes       = []string{"won", "lost"}
	CommitmentKinds     = []string{"discount", "deliverable", "date", "integration", "success_criterion", "stakeholder"}
	Severities          = []string{"critical", "major", "minor"}
	IncidentStatuses    = []string{"open", "resolved"}
	FeeKinds            = []string{"invoiced", "collected"}
	ChangeOrderStatuses = []string{"pending", "approved", "rejected"}
)

// Envelope is what every signal may carry besides its own fields. Key is
// an idempotency key: a signal or update sent again with the same key, in
// this run or a later one, gets the first answer and changes nothing.
// ActedAt is when the person acted, as the source stamps it (Slack's
// action_ts): a value older than the one recorded (progress, an
// incident's status) never overwrites it. Without it the deal's clock
// when the signal arrives stands in.
type Envelope struct {
	Key     string     `json:"key,omitempty"`
	ActedAt *time.Time `json:"acted_at,omitempty"`
}

type SignoffSignal struct {
	Envelope
	// ID is optional; when given (Slack clicks give one) a re-sent sign-off
	// with the same ID is a no-op.
	ID          string       `json:"id,omitempty"`
	Ticket      string       `json:"ticket"`
	By          string       `json:"by"`
	Side        string       `json:"side"`
	Decision    string       `json:"decision"`
	Deliverable *Deliverable `json:"deliverable,omitempty"`
	Note        string       `json:"note,omitempty"`
	// Client is set when the client decided in person through a signed
	// link (side client only). By stays the ticket's owner, who issued the
	// link, so the owner rule holds; Client says who really signed.
	Client *ClientSigner `json:"client,omitempty"`
}

// ClientSigner is the person at the client who signed through a link, and
// the evidence kept of it: a keyed hash of their IP address and user agent
// (never the address itself) and the link they used.
type ClientSigner struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Evidence string `json:"evidence"`
	LinkID   string `json:"link_id"`
}

type CommitmentSignal struct {
	Envelope
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	Value string `json:"value,omitempty"`
	By    string `json:"by"`
}

type CloseSignal struct {
	Envelope
	Outcome string `json:"outcome"`
	By      string `json:"by"`
	Reason  string `json:"reason,omitempty"`
}

type HandoverSignal struct {
	Envelope
	By        string    `json:"by"`
	Checklist Checklist `json:"checklist"`
	SignedOff bool      `json:"signed_off"`
}

type StageSignal struct {
	Envelope
	To Stage  `json:"to"`
	By string `json:"by"`
}

type IncidentSignal struct {
	Envelope
	IncidentID string `json:"incident_id"`
	Severity   string `json:"severity"`
	Status     string `json:"status"`
	Title      string `json:"title"`
}

type FeeSignal struct {
	Envelope
	FeeID    string          `json:"fee_id"`
	Kind     string          `json:"kind"`
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency"`
	Date     Date            `json:"date"`
}

type InvoiceSignal struct {
	Envelope
	InvoiceID string           `json:"invoice_id"`
	Category  string           `json:"category"`
	Amount    decimal.Decimal  `json:"amount"`
	Currency  string           `json:"currency"`
	Date      Date             `json:"date"`
	Supplier  string           `json:"supplier,omitempty"`
	Memo      string           `json:"memo,omitempty"`
	FXRate    *decimal.Decimal `json:"fx_rate,omitempty"`
	Credit    bool             `json:"credit,omitempty"`
}

type ChangeOrderSignal struct {
	Envelope
	ID          string          `json:"id"`
	Amount      decimal.Decimal `json:"amount"`
	PlannedCost decimal.Decimal `json:"planned_cost"`
	Status      string          `json:"status"`
	By          string          `json:"by"`
}

type ProgressSignal struct {
	Envelope
	PctComplete decimal.Decimal `json:"pct_complete"`
	By          string          `json:"by"`
}
