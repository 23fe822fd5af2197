package deal

import (
	"encoding/json"
	"time"
)

// Effects are what applying a signal asks of the outside world: rows to
// write to PostgreSQL and notices for people. The workflow hands them to
// activities; each row is keyed, so writing it twice writes it once.
type Effects struct {
	Rows    Rows
	Notices []Notice
}

// Rows is one batch of writes for a deal. Each list holds only what
// changed; nothing here is the whole deal.
type Rows struct {
	StageChanges []StageChange `json:"stage_changes,omitempty"`
	// Tickets carry the ticket's state; Deliverable is set only when an
	// approval changed it (nil keeps the stored one).
	Tickets      []Ticket        `json:"tickets,omitempty"`
	Signoffs     []TicketSignoff `json:"signoffs,omitempty"`
	Commitments  []Commitment    `json:"commitments,omitempty"`
	Handover     *HandoverTicket `json:"handover,omitempty"`
	Incidents    []Incident      `json:"incidents,omitempty"`
	ChangeOrders []ChangeOrder   `json:"change_orders,omitempty"`
	Refusals     []Refusal       `json:"refusals,omitempty"`
	Alerts       []Alert         `json:"alerts,omitempty"`
	Snapshots    []Snapshot      `json:"snapshots,omitempty"`
	// Questions are upserts by id: asked, answered or escalated.
	Questions []Question `json:"questions,omitempty"`
	// Keys are the idempotency keys applied, with their first answers.
	Keys []AppliedKey `json:"keys,omitempty"`
	// Notices wait in PostgreSQL until Slack has them.
	Notices []QueuedNotice `json:"notices,omitempty"`
}

// QueuedNotice is a notice numbered in the deal's order; Body is what the
// sender needs (the workflow's Notification), opaque here.
type QueuedNotice struct {
	Seq  int64           `json:"seq"`
	Body json.RawMessage `json:"body"`
}

// AppliedKey is an idempotency key a deal applied and the answer it gave;
// PostgreSQL keeps the first answer for good.
type AppliedKey struct {
	Key    string    `json:"key"`
	Signal string    `json:"signal"`
	Status string    `json:"status"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// TicketSignoff is a sign-off row with the ticket it belongs to.
type TicketSignoff struct {
	Ticket string `json:"ticket"`
	Signoff
}

// Len counts the rows.
func (r Rows) Len() int {
	n := len(r.StageChanges) + len(r.Tickets) + len(r.Signoffs) + len(r.Commitments) + len(r.Incidents) +
		len(r.ChangeOrders) + len(r.Refusals) + len(r.Alerts) + len(r.Snapshots) + len(r.Questions) + len(r.Keys) + len(r.Notices)
	if r.Handover != nil {
		n++
	}
	return n
}

// Merge appends o's rows; later rows of the same key win when written.
func (r *Rows) Merge(o Rows) {
	r.StageChanges = append(r.StageChanges, o.StageChanges...)
	r.Tickets = append(r.Tickets, o.Tickets...)
	r.Signoffs = append(r.Signoffs, o.Signoffs...)
	r.Commitments = append(r.Commitments, o.Commitments...)
	if o.Handover != nil {
		r.Handover = o.Handover
	}
	r.Incidents = append(r.Incidents, o.Incidents...)
	r.ChangeOrders = append(r.ChangeOrders, o.ChangeOrders...)
	r.Refusals = append(r.Refusals, o.Refusals...)
	r.Alerts = append(r.Alerts, o.Alerts...)
	r.Snapshots = append(r.Snapshots, o.Snapshots...)
	r.Questions = append(r.Questions, o.Questions...)
	r.Keys = append(r.Keys, o.Keys...)
	r.Notices = append(r.Notices, o.Notices...)
}

const (
	NoticeTicketOpened   = "ticket_opened"
	NoticeSignoff        = "signoff"
	NoticeStageChanged   = "stage_changed"
	NoticeHandoverOpened = "handover_opened"
	NoticeIncident       = "incident"
	NoticeMarginAlert    = "margin_alert"
	// A question for the AE, its answer for whoever asked, and its
	// escalation to the GM.
	NoticeQuestionAsked     = "question_asked"
	NoticeQuestionAnswered  = "question_answered"
	NoticeQuestionEscalated = "question_escalated"
)

// Notice is one message for people. The workflow fills in what it holds;
// the Notify activity adds the rest from PostgreSQL (a ticket's sign-offs
// and deliverable, the commitments the PM reviews at handover), so a notice
// sent through Temporal stays small whatever the deal's size.
type Notice struct {
	Kind     string       `json:"kind"`
	Ticket   *Ticket      `json:"ticket,omitempty"`
	Signoff  *Signoff     `json:"signoff,omitempty"`
	Change   *StageChange `json:"change,omitempty"`
	Incident *Incident    `json:"incident,omitempty"`
	Alert    *Alert       `json:"alert,omitempty"`
	// Question is the question asked, answered or escalated; an answer's
	// and an escalation's carry no question text (the activity reads it).
	Question *Question `json:"question,omitempty"`
	// Tickets and Commitments are what the PM reviews at handover; the
	// Notify activity reads them.
	Tickets     []Ticket     `json:"tickets,omitempty"`
	Commitments []Commitment `json:"commitments,omitempty"`
}

// Snapshot is the margin as one check saw it; Seq keys it per deal.
type Snapshot struct {
	Seq    int64  `json:"seq"`
	Margin Margin `json:"margin"`
}

func (a *applier) notify(n Notice) { a.effects.Notices = append(a.effects.Notices, n) }
