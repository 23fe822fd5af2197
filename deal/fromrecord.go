package deal

// StateFromRecord derives the workflow's state from a whole record: how a
// deal that version 1 of the workflow kept in its history upgrades. The
// digests are those the rules compute, so a repeat of a signal taken by
// version 1 is still answered duplicate.
func StateFromRecord(r *Record) *State {
	s := &State{Terms: r.Terms, Stage: r.Stage, OpenedAt: r.OpenedAt, BaseStage: r.BaseStage, Close: r.Close,
		Tickets: []TicketState{}, Commitments: []Keyed{}, Incidents: []IncidentState{}, ChangeOrders: r.ChangeOrders,
		Progress: r.Progress, Ledger: LedgerOf(r.Invoices, r.Fees), Margin: r.Margin, Alerted: r.AlertedMarginStatus(),
		StageChanges: int64(len(r.History)), MarginChecks: r.MarginChecks, Version: r.Version}
	if s.Terms.LateCostDays == nil {
		d := DefaultLateCostDays
		s.Terms.LateCostDays = &d
	}
	if s.ChangeOrders == nil {
		s.ChangeOrders = []ChangeOrder{}
	}
	if n := len(r.History); n > 0 {
		s.StageChanges = int64(r.History[n-1].Seq)
		if r.Stage.IsFinal() {
			at := r.History[n-1].At
			s.EndedAt = &at
		}
	}
	if n := len(r.Refusals); n > 0 {
		s.Refusals = int64(r.Refusals[n-1].Seq)
	}
	for _, t := range r.Tickets {
		ts := TicketState{ID: t.ID, Owner: t.Owner, DeliverableKind: t.DeliverableKind, ClientSignoffRequired: t.ClientSignoffRequired,
			Status: t.Status, OpenedAt: t.OpenedAt, ClosedAt: t.ClosedAt, InternalApproved: t.InternalApproved,
			ClientApproved: t.ClientApproved}
		if t.InternalApproved && t.Deliverable != nil {
			ts.DeliverableSum = digest(t.Deliverable)
		}
		for _, so := range t.Signoffs {
			ts.Signoffs = max(ts.Signoffs, so.Seq)
			if so.Refused {
				continue
			}
			ts.Last = &SignoffKey{Side: so.Side, By: so.By, Decision: so.Decision, NoteSum: digest(so.Note)}
			if so.ID != "" {
				ts.RecentIDs = append(ts.RecentIDs, so.ID)
			}
		}
		if n := len(ts.RecentIDs); n > recentSignoffIDs {
			ts.RecentIDs = ts.RecentIDs[n-recentSignoffIDs:]
		}
		s.Tickets = append(s.Tickets, ts)
	}
	for _, c := range r.Commitments {
		s.Commitments = append(s.Commitments, Keyed{ID: c.ID,
			Sum: digest(CommitmentSignal{ID: c.ID, Kind: c.Kind, Text: c.Text, Value: c.Value, By: c.By})})
	}
	if h := r.Handover; h != nil {
		s.Handover = &HandoverState{PM: h.PM, Status: h.Status, OpenedAt: h.OpenedAt, SignedOffAt: h.SignedOffAt,
			SignedOffBy: h.SignedOffBy}
		if h.Status == "signed_off" || h.Checklist.ScopeAmbiguities != nil || h.Checklist.DeliverablesReviewed {
			c := h.Checklist
			if c.CommitmentsAcknowledged == nil {
				c.CommitmentsAcknowledged = []string{}
			}
			s.Handover.ChecklistSum = digest(c)
		}
	}
	for _, i := range r.Incidents {
		s.Incidents = append(s.Incidents, IncidentState{ID: i.IncidentID, Severity: i.Severity, Status: i.Status,
			TitleSum: digest(i.Title), OpenedAt: i.OpenedAt})
	}
	return s
}
