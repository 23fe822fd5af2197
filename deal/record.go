package deal

import (
	"time"

	"github.com/shopspring/decimal"
)

type Stage string

const (
	Discovery   Stage = "discovery"
	Scoping     Stage = "scoping"
	Proposal    Stage = "proposal"
	Pricing     Stage = "pricing"
	Closing     Stage = "closing"
	Handover    Stage = "handover"
	InProgress  Stage = "in_progress"
	Mitigation  Stage = "mitigation"
	Maintenance Stage = "maintenance"
	ClosedWon   Stage = "closed_won"
	ClosedLost  Stage = "closed_lost"
)

// Stages lists every stage in protocol order.
var Stages = []Stage{Discovery, Scoping, Proposal, Pricing, Closing, Handover, InProgress, Mitigation, Maintenance, ClosedWon, ClosedLost}

// IsPresale is true before the deal is won: tickets, commitments and a lost
// close are allowed only here.
func (s Stage) IsPresale() bool {
	switch s {
	case Discovery, Scoping, Proposal, Pricing, Closing:
		return true
	}
	return false
}

// IsDelivery is true once the PM has signed the handover off.
func (s Stage) IsDelivery() bool {
	switch s {
	case InProgress, Mitigation, Maintenance:
		return true
	}
	return false
}

func (s Stage) IsFinal() bool { return s == ClosedWon || s == ClosedLost }

// Record is the whole deal as PostgreSQL holds it, read back for the deal
// page, `starter record`, the report and Slack. The workflow never holds
// it (see State).
type Record struct {
	Terms    Terms     `json:"terms"`
	Stage    Stage     `json:"stage"`
	OpenedAt time.Time `json:"opened_at"`
	// BaseStage is where delivery stands (in_progress or maintenance);
	// mitigation is laid over it while a critical incident is open or the
	// margin is off track, and lifts back to it.
	BaseStage   Stage           `json:"base_stage,omitempty"`
	History     []StageChange   `json:"stage_history"`
	Tickets     []Ticket        `json:"tickets"`
	Commitments []Commitment    `json:"commitments"`
	Close       *Close          `json:"close,omitempty"`
	Handover    *HandoverTicket `json:"handover,omitempty"`
	Incidents   []Incident      `json:"incidents"`
	Fees        []Fee           `json:"fees"`
	// Invoices read back are the newest MaxInvoicesShown; InvoicesTotal
	// counts them all.
	Invoices      []Invoice     `json:"invoices"`
	InvoicesTotal int64         `json:"invoices_total"`
	ChangeOrders  []ChangeOrder `json:"change_orders"`
	Progress      *Progress     `json:"progress,omitempty"`
	// Questions asked of the AE, oldest first, with their answers.
	Questions []Question `json:"questions"`
	Margin    Margin     `json:"margin"`
	// MarginChecks counts margin snapshots, so each has a stable key.
	MarginChecks int64   `json:"margin_checks"`
	Alerts       []Alert `json:"alerts"`
	// Refusals read back are the newest MaxRefusals; RefusalsTotal counts
	// them all.
	Refusals      []Refusal `json:"refusals"`
	RefusalsTotal int64     `json:"refusals_total"`
	// Health says what keeps failing for the deal (a write, a notice), or "".
	Health string `json:"health,omitempty"`
	// Version grows with every change; writes to PostgreSQL carry it so an
	// older record never overwrites a newer one.
	Version int64 `json:"version"`
}

type StageChange struct {
	Seq    int       `json:"seq"`
	From   Stage     `json:"from,omitempty"`
	To     Stage     `json:"to"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

type Deliverable struct {
	Kind string `json:"kind"`
	Body string `json:"body,omitempty"`
	URL  string `json:"url,omitempty"`
}

type Ticket struct {
	ID                    string       `json:"id"`
	Owner                 string       `json:"owner"`
	DeliverableKind       string       `json:"deliverable_kind"`
	ClientSignoffRequired bool         `json:"client_signoff_required"`
	Status                string       `json:"status"` // open | closed
	OpenedAt              time.Time    `json:"opened_at"`
	ClosedAt              *time.Time   `json:"closed_at,omitempty"`
	InternalApproved      bool         `json:"internal_approved"`
	ClientApproved        bool         `json:"client_approved"`
	Deliverable           *Deliverable `json:"deliverable,omitempty"`
	Signoffs              []Signoff    `json:"signoffs"`
}

// Signoff is one sign-off as it arrived, kept whether it counted or not.
type Signoff struct {
	Seq         int          `json:"seq"`
	ID          string       `json:"id,omitempty"`
	By          string       `json:"by"`
	Side        string       `json:"side"`
	Decision    string       `json:"decision"`
	Deliverable *Deliverable `json:"deliverable,omitempty"`
	Note        string       `json:"note,omitempty"`
	At          time.Time    `json:"at"`
	Refused     bool         `json:"refused"`
	Reason      string       `json:"reason,omitempty"`
	// Client is who signed in person through a link; nil when the owner
	// recorded the client's decision on their behalf.
	Client *ClientSigner `json:"client,omitempty"`
}

// ClientLine says what the client decided through a link, in plain text
// ("approved by Jane Doe (jane@client.com) via link"); "" for a sign-off
// the owner recorded. Slack and the deal page escape it their own way.
func (s Signoff) ClientLine() string {
	if s.Client == nil {
		return ""
	}
	did := "approved"
	if s.Decision != "approve" {
		did = "asked for changes"
	}
	return did + " by " + s.Client.Name + " (" + s.Client.Email + ") via link"
}

type Commitment struct {
	ID    string    `json:"id"`
	Kind  string    `json:"kind"`
	Text  string    `json:"text"`
	Value string    `json:"value,omitempty"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
}

type Close struct {
	Outcome string    `json:"outcome"`
	By      string    `json:"by"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// Checklist is what the PM confirms before delivery may start.
type Checklist struct {
	DeliverablesReviewed    bool     `json:"deliverables_reviewed"`
	CommitmentsAcknowledged []string `json:"commitments_acknowledged"`
	// ScopeAmbiguities must be stated: an empty list is an answer, a
	// missing one is not.
	ScopeAmbiguities   *[]string `json:"scope_ambiguities"`
	ResourcesConfirmed bool      `json:"resources_confirmed"`
}

type HandoverTicket struct {
	PM          string     `json:"pm"`
	Status      string     `json:"status"` // open | signed_off
	OpenedAt    time.Time  `json:"opened_at"`
	SignedOffAt *time.Time `json:"signed_off_at,omitempty"`
	SignedOffBy string     `json:"signed_off_by,omitempty"`
	Checklist   Checklist  `json:"checklist"`
}

type Incident struct {
	IncidentID string    `json:"incident_id"`
	Severity   string    `json:"severity"`
	Status     string    `json:"status"`
	Title      string    `json:"title"`
	OpenedAt   time.Time `json:"opened_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

type Fee struct {
	FeeID    string          `json:"fee_id"`
	Kind     string          `json:"kind"` // invoiced | collected
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency"`
	Date     Date            `json:"date"`
}

type Invoice struct {
	InvoiceID string          `json:"invoice_id"`
	Category  string          `json:"category"`
	Amount    decimal.Decimal `json:"amount"`
	Currency  string          `json:"currency"`
	// FXRate converts Amount into the deal's currency; absent when the
	// invoice is already in it.
	FXRate *decimal.Decimal `json:"fx_rate,omitempty"`
	// DealAmount is Amount in the deal's currency: the amount itself, or
	// Amount × FXRate rounded to the cent.
	DealAmount decimal.Decimal `json:"deal_amount"`
	Date       Date            `json:"date"`
	Supplier   string          `json:"supplier,omitempty"`
	Memo       string          `json:"memo,omitempty"`
	Credit     bool            `json:"credit,omitempty"`
	ReceivedAt time.Time       `json:"received_at"`
}

type ChangeOrder struct {
	ID          string          `json:"id"`
	Amount      decimal.Decimal `json:"amount"`
	PlannedCost decimal.Decimal `json:"planned_cost"`
	Status      string          `json:"status"` // pending | approved | rejected
	By          string          `json:"by"`
	At          time.Time       `json:"at"`
}

type Progress struct {
	PctComplete decimal.Decimal `json:"pct_complete"`
	By          string          `json:"by"`
	At          time.Time       `json:"at"`
}

type Alert struct {
	ID     string    `json:"id"`
	Kind   string    `json:"kind"` // worsened | recovered
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	Margin Margin    `json:"margin"`
}

// Refusal is a signal that was not taken, kept so people can see why.
type Refusal struct {
	Seq     int       `json:"seq"`
	Signal  string    `json:"signal"`
	Reason  string    `json:"reason"`
	Payload string    `json:"payload"`
	At      time.Time `json:"at"`
}

// A record read back holds the newest refusals and invoices only;
// PostgreSQL keeps all.
const (
	MaxRefusals      = 200
	MaxInvoicesShown = 500
)

// OpenCriticalIncidents counts what keeps a deal in mitigation.
func (r *Record) OpenCriticalIncidents() int {
	n := 0
	for _, i := range r.Incidents {
		if i.Status == "open" && i.Severity == "critical" {
			n++
		}
	}
	return n
}

func (r *Record) OpenIncidents() int {
	n := 0
	for _, i := range r.Incidents {
		if i.Status == "open" {
			n++
		}
	}
	return n
}

// OpenTicket is the presale ticket waiting for sign-off, if any.
func (r *Record) OpenTicket() *Ticket {
	for i := range r.Tickets {
		if r.Tickets[i].Status == "open" {
			return &r.Tickets[i]
		}
	}
	return nil
}

// AlertedMarginStatus is the status people were last told about: it starts
// on track and moves only with an alert.
func (r *Record) AlertedMarginStatus() string {
	if n := len(r.Alerts); n > 0 {
		return r.Alerts[n-1].To
	}
	return OnTrack
}
