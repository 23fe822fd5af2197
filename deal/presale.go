package deal

import (
	"net/mail"
	"slices"
	"strings"
)

// ticketSpec says who owns a presale ticket and what it must deliver.
type ticketSpec struct {
	deliverable string
	owner       func(People) string
	next        Stage
}

var ticketSpecs = map[Stage]ticketSpec{
	Discovery: {"discovery_notes", func(p People) string { return p.Presales }, Scoping},
	Scoping:   {"scoping_decision_log", func(p People) string { return p.Presales }, Proposal},
	Proposal:  {"proposal_assumptions", func(p People) string { return p.AE }, Pricing},
	Pricing:   {"pricing_rationale", func(p People) string { return p.PricingApprover }, Closing},
}

func (a *applier) signoff(s SignoffSignal) error {
	t := a.s.ticket(s.Ticket)
	if t == nil {
		return refuse("no ticket %q on this deal; presale tickets are %s", s.Ticket, strings.Join(PresaleTickets, ", "))
	}
	if s.ID != "" && slices.Contains(t.RecentIDs, s.ID) {
		return errDuplicate
	}
	if s.Deliverable != nil && s.Deliverable.Kind == "" {
		s.Deliverable.Kind = t.DeliverableKind
	}
	key := SignoffKey{Side: s.Side, By: s.By, Decision: s.Decision, NoteSum: digest(s.Note)}
	if t.Status == "closed" && t.repeats(key, s.Deliverable) {
		return errDuplicate
	}
	so := Signoff{ID: s.ID, By: s.By, Side: s.Side, Decision: s.Decision, Deliverable: s.Deliverable, Note: s.Note, At: a.now, Client: s.Client}
	if err := checkSignoff(t, s); err != nil {
		// The refused sign-off is kept on its ticket (and as a refusal), but
		// not its deliverable: a refused body must not cost the full size.
		t.Signoffs++
		so.Seq, so.Refused, so.Reason, so.Deliverable = t.Signoffs, true, err.Error(), nil
		so.Note = clip(so.Note, maxRefusalPayload)
		a.effects.Rows.Signoffs = append(a.effects.Rows.Signoffs, TicketSignoff{Ticket: t.ID, Signoff: so})
		return err
	}
	if t.repeats(key, s.Deliverable) {
		return errDuplicate
	}
	t.Signoffs++
	so.Seq = t.Signoffs
	t.Last = &key
	if s.ID != "" {
		t.RecentIDs = append(t.RecentIDs, s.ID)
		if len(t.RecentIDs) > recentSignoffIDs {
			t.RecentIDs = slices.Clone(t.RecentIDs[len(t.RecentIDs)-recentSignoffIDs:])
		}
	}
	var newDeliverable *Deliverable
	switch {
	case s.Decision == "approve" && s.Side == "internal":
		t.InternalApproved = true
		t.DeliverableSum = digest(s.Deliverable)
		newDeliverable = s.Deliverable
	case s.Decision == "approve":
		t.ClientApproved = true
	default:
		// Changes asked by either side send the deliverable back for rework,
		// which the owner then approves again.
		t.InternalApproved, t.ClientApproved = false, false
	}
	closes := t.InternalApproved && (!t.ClientSignoffRequired || t.ClientApproved)
	if closes {
		at := a.now
		t.Status, t.ClosedAt = "closed", &at
	}
	a.effects.Rows.Signoffs = append(a.effects.Rows.Signoffs, TicketSignoff{Ticket: t.ID, Signoff: so})
	a.writeTicket(t, newDeliverable)
	v := t.View()
	thin := so
	thin.Deliverable = nil
	a.notify(Notice{Kind: NoticeSignoff, Ticket: &v, Signoff: &thin})
	if !closes {
		return nil
	}
	next := ticketSpecs[Stage(t.ID)].next
	a.moveTo(next, s.By, t.ID+" signed off")
	if _, ok := ticketSpecs[next]; ok {
		a.openTicket(next)
	}
	return nil
}

// repeats is true when a sign-off would change nothing: an approval the
// ticket already has (with the same deliverable), or the same change request
// as the last accepted sign-off. A double click, or a re-sent signal.
func (t *TicketState) repeats(k SignoffKey, d *Deliverable) bool {
	switch {
	case k.Decision == "approve" && k.Side == "internal":
		return t.InternalApproved && t.DeliverableSum == digest(d)
	case k.Decision == "approve":
		return t.ClientApproved
	}
	return t.Last != nil && *t.Last == k
}

func checkSignoff(t *TicketState, s SignoffSignal) error {
	if t.Status != "open" {
		return refuse("ticket %s is %s, not open", t.ID, t.Status)
	}
	if s.By != t.Owner {
		return refuse("only the ticket owner %s can sign off %s, not %q", t.Owner, t.ID, s.By)
	}
	if !slices.Contains(SignoffSides, s.Side) {
		return refuse("side must be internal or client, not %q", s.Side)
	}
	if !slices.Contains(SignoffDecisions, s.Decision) {
		return refuse("decision must be approve or changes_requested, not %q", s.Decision)
	}
	if s.Side == "client" && !t.ClientSignoffRequired {
		return refuse("ticket %s takes no client sign-off", t.ID)
	}
	if s.Client != nil {
		if err := checkClientSigner(t, s); err != nil {
			return err
		}
	}
	if s.Decision == "changes_requested" {
		if strings.TrimSpace(s.Note) == "" {
			return refuse("a change request needs a note saying what to change")
		}
		return nil
	}
	if s.Side == "client" && !t.InternalApproved {
		return refuse("the client signs %s off after the internal approval", t.ID)
	}
	d := s.Deliverable
	if d == nil || (strings.TrimSpace(d.Body) == "" && strings.TrimSpace(d.URL) == "") {
		return refuse("approving %s needs its deliverable (%s) with a body or a url", t.ID, t.DeliverableKind)
	}
	if d.Kind != t.DeliverableKind {
		return refuse("ticket %s delivers %s, not %q", t.ID, t.DeliverableKind, d.Kind)
	}
	return nil
}

// checkClientSigner holds a sign-off the client gave through a link to
// what the link was issued for: the deliverable approved internally, as it
// is now. PostgreSQL checks the link first; this check is the deal's own,
// so a deliverable approved anew between that check and this signal still
// turns the old link's decision away.
func checkClientSigner(t *TicketState, s SignoffSignal) error {
	c := s.Client
	if s.Side != "client" {
		return refuse("a client signer goes only with side client, not %q", s.Side)
	}
	if strings.TrimSpace(c.Name) == "" || strings.TrimSpace(c.LinkID) == "" || strings.TrimSpace(c.Evidence) == "" {
		return refuse("a client sign-off through a link needs the signer's name, the link id and the evidence")
	}
	if !ValidEmail(c.Email) {
		return refuse("the client signer's email %q is not an email address", c.Email)
	}
	if !t.InternalApproved {
		return refuse("the client signs %s off after the internal approval", t.ID)
	}
	if s.Deliverable == nil || digest(s.Deliverable) != t.DeliverableSum {
		return refuse("the deliverable of %s changed since the client's link was issued; ask the owner for a new link", t.ID)
	}
	return nil
}

// ValidEmail is true for a bare address (no display name) of at most 254
// characters, what a mail system delivers to.
func ValidEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func (a *applier) commitment(c CommitmentSignal) error {
	s := a.s
	if strings.TrimSpace(c.ID) == "" || strings.TrimSpace(c.Text) == "" || c.By == "" {
		return refuse("a commitment needs id, text and by")
	}
	if !slices.Contains(CommitmentKinds, c.Kind) {
		return refuse("commitment kind must be one of %s, not %q", strings.Join(CommitmentKinds, ", "), c.Kind)
	}
	// The digest is of what was said: a repeat under another key (a
	// retry, another source) is still a repeat.
	c.Envelope = Envelope{}
	sum := digest(c)
	if i := slices.IndexFunc(s.Commitments, func(k Keyed) bool { return k.ID == c.ID }); i >= 0 {
		if s.Commitments[i].Sum == sum {
			return errDuplicate
		}
		return refuse("commitment %s is already recorded with other content; record a change under a new id", c.ID)
	}
	if !s.Stage.IsPresale() {
		return refuse("commitments are recorded during presale; the deal is at %s", s.Stage)
	}
	if len(s.Commitments) >= MaxCommitments {
		return refuse("a deal records at most %d commitments; put related promises in one", MaxCommitments)
	}
	s.Commitments = append(s.Commitments, Keyed{ID: c.ID, Sum: sum})
	a.effects.Rows.Commitments = append(a.effects.Rows.Commitments,
		Commitment{ID: c.ID, Kind: c.Kind, Text: c.Text, Value: c.Value, By: c.By, At: a.now})
	return nil
}

func (a *applier) close(c CloseSignal) error {
	s := a.s
	if s.Close != nil && s.Close.Outcome == c.Outcome && s.Close.By == c.By {
		return errDuplicate
	}
	if c.By != s.Terms.People.AE {
		return refuse("only the AE %s can close the deal, not %q", s.Terms.People.AE, c.By)
	}
	switch c.Outcome {
	case "won":
		if s.Stage != Closing {
			return refuse("the deal can be won only once pricing is signed off; it is at %s", s.Stage)
		}
		s.Close = &Close{Outcome: c.Outcome, By: c.By, Reason: c.Reason, At: a.now}
		a.moveTo(Handover, c.By, "closed won")
		s.Handover = &HandoverState{PM: s.Terms.People.PM, Status: "open", OpenedAt: a.now}
		a.effects.Rows.Handover = &HandoverTicket{PM: s.Handover.PM, Status: "open", OpenedAt: a.now,
			Checklist: Checklist{CommitmentsAcknowledged: []string{}}}
		// The Notify activity reads the tickets and commitments to review.
		a.notify(Notice{Kind: NoticeHandoverOpened})
	case "lost":
		if !s.Stage.IsPresale() {
			return refuse("a deal can be lost only before it is won; it is at %s", s.Stage)
		}
		s.Close = &Close{Outcome: c.Outcome, By: c.By, Reason: c.Reason, At: a.now}
		if t := s.OpenTicket(); t != nil {
			t.Status = "cancelled"
			a.writeTicket(t, nil)
		}
		a.moveTo(ClosedLost, c.By, c.Reason)
	default:
		return refuse("outcome must be won or lost, not %q", c.Outcome)
	}
	return nil
}
