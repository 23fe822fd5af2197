package deal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// State is what the workflow holds of a deal: the process and the running
// totals, never the lists. Invoices, fees, sign-offs, refusals, alerts,
// snapshots and the stage history live in PostgreSQL (see Rows); the state
// keeps only what the next decision needs, so its size is bounded whatever
// the deal's age: see MaxCommitments and its neighbours.
type State struct {
	Terms    Terms     `json:"terms"`
	Stage    Stage     `json:"stage"`
	OpenedAt time.Time `json:"opened_at"`
	// BaseStage is where delivery stands (in_progress or maintenance);
	// mitigation is laid over it and lifts back to it.
	BaseStage   Stage         `json:"base_stage,omitempty"`
	Tickets     []TicketState `json:"tickets"`
	Commitments []Keyed       `json:"commitments"`
	Close       *Close        `json:"close,omitempty"`
	// EndedAt is when the deal reached closed_won or closed_lost; late
	// costs are taken for LateCostWindow after it.
	EndedAt      *time.Time      `json:"ended_at,omitempty"`
	Handover     *HandoverState  `json:"handover,omitempty"`
	Incidents    []IncidentState `json:"incidents"`
	ChangeOrders []ChangeOrder   `json:"change_orders"`
	Progress     *Progress       `json:"progress,omitempty"`
	// Questions asked of the AE after the close (questions.go).
	Questions []QuestionState `json:"questions,omitempty"`
	Ledger    Ledger          `json:"ledger"`
	Margin    Margin          `json:"margin"`
	// Alerted is the margin status people were last told about.
	Alerted string `json:"alerted"`
	// Counters give every row the workflow writes a stable key.
	StageChanges int64 `json:"stage_changes"`
	Refusals     int64 `json:"refusals"`
	MarginChecks int64 `json:"margin_checks"`
	// Version grows with every change; the deal's row in PostgreSQL carries
	// it so an older write never overwrites a newer one.
	Version int64 `json:"version"`
}

// Bounds on what the state keeps per deal. Together with the text limits
// they keep the state under 192 KiB in the worst case, and with the carry's
// bounded queues everything sent through Temporal under 256 KiB
// (TestStateWorstCaseSize).
const (
	MaxCommitments  = 500
	MaxIncidents    = 200
	MaxChangeOrders = 100
	// recentSignoffIDs is how many accepted sign-off ids a ticket keeps for
	// recognising a re-sent sign-off by its id.
	recentSignoffIDs = 10
	// MaxAmbiguities bounds the scope ambiguities one checklist states.
	MaxAmbiguities = 50
)

// Keyed is an id with a digest of what was recorded under it: enough to
// tell a repeat from a conflicting re-use of the id.
type Keyed struct {
	ID  string `json:"id"`
	Sum string `json:"sum"`
}

type TicketState struct {
	ID                    string     `json:"id"`
	Owner                 string     `json:"owner"`
	DeliverableKind       string     `json:"deliverable_kind"`
	ClientSignoffRequired bool       `json:"client_signoff_required"`
	Status                string     `json:"status"` // open | closed | cancelled
	OpenedAt              time.Time  `json:"opened_at"`
	ClosedAt              *time.Time `json:"closed_at,omitempty"`
	InternalApproved      bool       `json:"internal_approved"`
	ClientApproved        bool       `json:"client_approved"`
	// DeliverableSum is the digest of the deliverable approved internally.
	DeliverableSum string `json:"deliverable_sum,omitempty"`
	// Last is the newest accepted sign-off, for telling a double click from
	// a new decision.
	Last *SignoffKey `json:"last,omitempty"`
	// RecentIDs are the newest accepted sign-off ids.
	RecentIDs []string `json:"recent_ids,omitempty"`
	// Signoffs counts every sign-off row of the ticket, accepted or not.
	Signoffs int `json:"signoffs"`
}

type SignoffKey struct {
	Side     string `json:"side"`
	By       string `json:"by"`
	Decision string `json:"decision"`
	NoteSum  string `json:"note_sum"`
}

type HandoverState struct {
	PM           string     `json:"pm"`
	Status       string     `json:"status"` // open | signed_off
	OpenedAt     time.Time  `json:"opened_at"`
	SignedOffAt  *time.Time `json:"signed_off_at,omitempty"`
	SignedOffBy  string     `json:"signed_off_by,omitempty"`
	ChecklistSum string     `json:"checklist_sum,omitempty"`
}

type IncidentState struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	TitleSum string `json:"title_sum"`
	// ActedAt is when the person behind the last change acted: an older
	// change never overwrites it. (When it was opened lives in its row,
	// which an update never changes.)
	ActedAt time.Time `json:"acted_at"`
}

// digest names content by a short hash: equal content, equal digest. It
// only tells a repeat from other content under the same id, so 64 bits
// are plenty.
func digest(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (s *State) ticket(id string) *TicketState {
	for i := range s.Tickets {
		if s.Tickets[i].ID == id {
			return &s.Tickets[i]
		}
	}
	return nil
}

// OpenTicket is the presale ticket waiting for sign-off, if any.
func (s *State) OpenTicket() *TicketState {
	for i := range s.Tickets {
		if s.Tickets[i].Status == "open" {
			return &s.Tickets[i]
		}
	}
	return nil
}

// OpenCriticalIncidents counts what keeps a deal in mitigation.
func (s *State) OpenCriticalIncidents() int {
	n := 0
	for _, i := range s.Incidents {
		if i.Status == "open" && i.Severity == "critical" {
			n++
		}
	}
	return n
}

func (s *State) OpenIncidents() int {
	n := 0
	for _, i := range s.Incidents {
		if i.Status == "open" {
			n++
		}
	}
	return n
}

// View is the ticket as people see it, without its sign-offs (those are
// rows in PostgreSQL).
func (t TicketState) View() Ticket {
	return Ticket{ID: t.ID, Owner: t.Owner, DeliverableKind: t.DeliverableKind, ClientSignoffRequired: t.ClientSignoffRequired,
		Status: t.Status, OpenedAt: t.OpenedAt, ClosedAt: t.ClosedAt, InternalApproved: t.InternalApproved,
		ClientApproved: t.ClientApproved}
}

// Clone copies the state deeply, so rules can be tried on a copy.
func (s *State) Clone() *State {
	var c State
	b, _ := json.Marshal(s)
	_ = json.Unmarshal(b, &c)
	return &c
}

// Summary is the deal's state as its row in PostgreSQL shows it: what
// every write carries, small whatever the deal's size.
type Summary struct {
	DealID        string     `json:"deal_id"`
	Stage         Stage      `json:"stage"`
	BaseStage     Stage      `json:"base_stage,omitempty"`
	Close         *Close     `json:"close,omitempty"`
	Progress      *Progress  `json:"progress,omitempty"`
	Margin        Margin     `json:"margin"`
	Alerted       string     `json:"alerted"`
	OpenIncidents int        `json:"open_incidents"`
	MarginChecks  int64      `json:"margin_checks"`
	EndedAt       *time.Time `json:"ended_at,omitempty"`
	Refusals      int64      `json:"refusals"`
	Version       int64      `json:"version"`
}

func (s *State) Summary() Summary {
	return Summary{DealID: s.Terms.DealID, Stage: s.Stage, BaseStage: s.BaseStage, Close: s.Close, Progress: s.Progress,
		Margin: s.Margin, Alerted: s.Alerted, OpenIncidents: s.OpenIncidents(), MarginChecks: s.MarginChecks,
		EndedAt: s.EndedAt, Refusals: s.Refusals, Version: s.Version}
}
