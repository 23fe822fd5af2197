package dealv1

import "slices"

// Effects are what applying a signal asks the outside world to do: tell
// people, and keep a margin snapshot. The workflow hands them to activities.
type Effects struct {
	Notices   []Notice
	Snapshots []Snapshot
}

const (
	NoticeTicketOpened   = "ticket_opened"
	NoticeSignoff        = "signoff"
	NoticeStageChanged   = "stage_changed"
	NoticeHandoverOpened = "handover_opened"
	NoticeIncident       = "incident"
	NoticeMarginAlert    = "margin_alert"
)

// Notice is one message for people. It carries copies, not pointers into
// the record, because it is sent later, after the record has moved on.
type Notice struct {
	Kind     string       `json:"kind"`
	Ticket   *Ticket      `json:"ticket,omitempty"`
	Signoff  *Signoff     `json:"signoff,omitempty"`
	Change   *StageChange `json:"change,omitempty"`
	Incident *Incident    `json:"incident,omitempty"`
	Alert    *Alert       `json:"alert,omitempty"`
	// Tickets and Commitments are what the PM reviews at handover.
	Tickets     []Ticket     `json:"tickets,omitempty"`
	Commitments []Commitment `json:"commitments,omitempty"`
}

// Snapshot is the margin as one check saw it; Seq keys it per deal.
type Snapshot struct {
	Seq    int64  `json:"seq"`
	Margin Margin `json:"margin"`
}

func (a *applier) notify(n Notice) { a.effects.Notices = append(a.effects.Notices, n) }

func (t Ticket) clone() *Ticket {
	t.Signoffs = slices.Clone(t.Signoffs)
	return &t
}

func (r *Record) cloneTickets() []Ticket {
	out := make([]Ticket, len(r.Tickets))
	for i, t := range r.Tickets {
		out[i] = *t.clone()
	}
	return out
}
