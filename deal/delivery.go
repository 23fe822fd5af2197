package deal

import (
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

func (a *applier) handover(h HandoverSignal) error {
	s := a.s
	if h.Checklist.CommitmentsAcknowledged == nil {
		h.Checklist.CommitmentsAcknowledged = []string{}
	}
	if len(h.Checklist.CommitmentsAcknowledged) > MaxCommitments {
		return refuse("commitments_acknowledged lists more than %d ids", MaxCommitments)
	}
	if amb := h.Checklist.ScopeAmbiguities; amb != nil && len(*amb) > MaxAmbiguities {
		return refuse("scope_ambiguities lists more than %d items; group them", MaxAmbiguities)
	}
	ho := s.Handover
	if ho == nil {
		return refuse("there is no handover ticket yet: the deal is at %s and opens one when it is won", s.Stage)
	}
	sum := digest(h.Checklist)
	if ho.Status == "signed_off" {
		if h.SignedOff && h.By == ho.SignedOffBy && sum == ho.ChecklistSum {
			return errDuplicate
		}
		return refuse("the handover was already signed off by %s", ho.SignedOffBy)
	}
	if h.By != ho.PM {
		return refuse("only the assigned PM %s can sign off the handover, not %q", ho.PM, h.By)
	}
	row := &HandoverTicket{PM: ho.PM, Status: ho.Status, OpenedAt: ho.OpenedAt, Checklist: h.Checklist}
	if !h.SignedOff {
		if sum == ho.ChecklistSum {
			return errDuplicate
		}
		ho.ChecklistSum = sum
		a.effects.Rows.Handover = row
		return nil
	}
	if missing := s.checklistGaps(h.Checklist); len(missing) > 0 {
		return refuse("the handover checklist is not complete: %s", strings.Join(missing, "; "))
	}
	at := a.now
	ho.ChecklistSum, ho.Status, ho.SignedOffAt, ho.SignedOffBy = sum, "signed_off", &at, h.By
	row.Status, row.SignedOffAt, row.SignedOffBy = ho.Status, &at, h.By
	a.effects.Rows.Handover = row
	s.BaseStage = InProgress
	a.moveTo(InProgress, h.By, "handover signed off")
	// Costs booked before delivery count from its first day.
	a.checkMargin()
	a.settleDelivery(h.By, "open critical incident")
	return nil
}

func (s *State) checklistGaps(c Checklist) []string {
	var gaps []string
	if !c.DeliverablesReviewed {
		gaps = append(gaps, "deliverables_reviewed is not confirmed")
	}
	var unacked []string
	for _, cm := range s.Commitments {
		if !slices.Contains(c.CommitmentsAcknowledged, cm.ID) {
			unacked = append(unacked, cm.ID)
		}
	}
	if len(unacked) > 0 {
		gaps = append(gaps, "commitments not acknowledged: "+strings.Join(unacked, ", "))
	}
	if c.ScopeAmbiguities == nil {
		gaps = append(gaps, "scope_ambiguities must be stated (an empty list when there are none)")
	}
	if !c.ResourcesConfirmed {
		gaps = append(gaps, "resources_confirmed is not confirmed")
	}
	return gaps
}

func (a *applier) stage(st StageSignal) error {
	s := a.s
	p := s.Terms.People
	if st.To != Maintenance && st.To != ClosedWon {
		return refuse("stage can be moved only to maintenance or closed_won, not %q", st.To)
	}
	if st.By != p.PM && st.By != p.GM {
		return refuse("only the PM %s or the GM %s can move the stage, not %q", p.PM, p.GM, st.By)
	}
	if st.To == ClosedWon && s.Stage == ClosedWon {
		return errDuplicate
	}
	if s.BaseStage == "" {
		return refuse("the deal is at %s; it moves to %s only after the handover is signed off", s.Stage, st.To)
	}
	if st.To == Maintenance {
		if s.BaseStage == Maintenance {
			return errDuplicate
		}
		s.BaseStage = Maintenance
		a.settleDelivery(st.By, "moved to maintenance")
		return nil
	}
	if n := s.OpenCriticalIncidents(); n > 0 {
		return refuse("the deal cannot close while %d critical incident(s) are open", n)
	}
	// The final snapshot: the margin the deal closed on.
	a.checkMargin()
	a.moveTo(ClosedWon, st.By, "delivery complete")
	return nil
}

func (a *applier) incident(in IncidentSignal) error {
	s := a.s
	if strings.TrimSpace(in.IncidentID) == "" {
		return refuse("incident_id is required")
	}
	if !slices.Contains(Severities, in.Severity) {
		return refuse("severity must be critical, major or minor, not %q", in.Severity)
	}
	if !slices.Contains(IncidentStatuses, in.Status) {
		return refuse("status must be open or resolved, not %q", in.Status)
	}
	if s.Close == nil || s.Close.Outcome != "won" {
		return refuse("incidents are tracked once the deal is won; it is at %s", s.Stage)
	}
	at := a.actedAt(in.Envelope)
	row := Incident{IncidentID: in.IncidentID, Severity: in.Severity, Status: in.Status, Title: in.Title, UpdatedAt: at}
	i := slices.IndexFunc(s.Incidents, func(x IncidentState) bool { return x.ID == in.IncidentID })
	if i < 0 {
		if strings.TrimSpace(in.Title) == "" {
			return refuse("a new incident needs a title")
		}
		if len(s.Incidents) >= MaxIncidents {
			return refuse("a deal tracks at most %d incidents", MaxIncidents)
		}
		s.Incidents = append(s.Incidents, IncidentState{ID: in.IncidentID, Severity: in.Severity, Status: in.Status,
			TitleSum: digest(in.Title), ActedAt: at})
		row.OpenedAt = a.now
	} else {
		cur := &s.Incidents[i]
		if at.Before(cur.ActedAt) {
			return stale("incident "+in.IncidentID, cur.ActedAt)
		}
		titleSum := cur.TitleSum
		if in.Title != "" {
			titleSum = digest(in.Title)
		}
		if cur.Severity == in.Severity && cur.Status == in.Status && cur.TitleSum == titleSum {
			return errDuplicate
		}
		cur.Severity, cur.Status, cur.TitleSum, cur.ActedAt = in.Severity, in.Status, titleSum, at
		// An update without a title keeps the stored one, and the row
		// keeps when the incident was opened (row.OpenedAt is unset).
	}
	a.effects.Rows.Incidents = append(a.effects.Rows.Incidents, row)
	a.notify(Notice{Kind: NoticeIncident, Incident: &row})
	a.settleDelivery(Dealflow, "incident "+in.IncidentID+" "+in.Status)
	return nil
}

// Dealflow is who moves the stage when the rules do it on their own (an
// incident opened, the margin off track), not a person.
const Dealflow = "dealflow"

func (a *applier) changeOrder(c ChangeOrderSignal) error {
	s := a.s
	p := s.Terms.People
	if strings.TrimSpace(c.ID) == "" {
		return refuse("change order id is required")
	}
	if !slices.Contains(ChangeOrderStatuses, c.Status) {
		return refuse("change order status must be pending, approved or rejected, not %q", c.Status)
	}
	if c.By != p.AE && c.By != p.PM && c.By != p.GM {
		return refuse("change orders come from the AE, PM or GM, not %q", c.By)
	}
	if tooLarge(c.Amount) || tooLarge(c.PlannedCost) {
		return refuse("change order amount and planned_cost may have at most %d integer digits", maxIntegerDigits)
	}
	if err := decimalPlaces("amount", c.Amount, maxMoneyPlaces); err != nil {
		return err
	}
	if err := decimalPlaces("planned_cost", c.PlannedCost, maxMoneyPlaces); err != nil {
		return err
	}
	if err := s.checkChangeOrder(c); err != nil {
		return err
	}
	if s.Close == nil || s.Close.Outcome != "won" {
		return refuse("change orders come after the deal is won; it is at %s", s.Stage)
	}
	co := ChangeOrder{ID: c.ID, Amount: c.Amount, PlannedCost: c.PlannedCost, Status: c.Status, By: c.By, At: a.now}
	i := slices.IndexFunc(s.ChangeOrders, func(x ChangeOrder) bool { return x.ID == c.ID })
	if i >= 0 {
		old := s.ChangeOrders[i]
		if old.Status == co.Status && old.Amount.Equal(co.Amount) && old.PlannedCost.Equal(co.PlannedCost) {
			return errDuplicate
		}
		if old.Status != "pending" {
			return refuse("change order %s is already %s", c.ID, old.Status)
		}
	} else if len(s.ChangeOrders) >= MaxChangeOrders {
		return refuse("a deal takes at most %d change orders", MaxChangeOrders)
	}
	if co.Status == "approved" && s.Terms.ContractValue.Add(approvedAmount(s.ChangeOrders, c.ID)).Add(co.Amount).Sign() <= 0 {
		return refuse("approving change order %s would take revenue to zero or below", c.ID)
	}
	if i >= 0 {
		s.ChangeOrders[i] = co
	} else {
		s.ChangeOrders = append(s.ChangeOrders, co)
	}
	a.effects.Rows.ChangeOrders = append(a.effects.Rows.ChangeOrders, co)
	a.checkMarginAfter()
	return nil
}

func (a *applier) progress(p ProgressSignal) error {
	s := a.s
	if p.By != s.Terms.People.PM {
		return refuse("only the PM %s reports progress, not %q", s.Terms.People.PM, p.By)
	}
	if p.PctComplete.Sign() <= 0 || p.PctComplete.GreaterThan(hundred) {
		return refuse("pct_complete must be above 0 and at most 100, not %s", p.PctComplete)
	}
	if err := decimalPlaces("pct_complete", p.PctComplete, 2); err != nil {
		return err
	}
	if !s.Stage.IsDelivery() {
		return refuse("progress is reported during delivery; the deal is at %s", s.Stage)
	}
	at := a.actedAt(p.Envelope)
	if s.Progress != nil && at.Before(s.Progress.At) {
		return stale("progress", s.Progress.At)
	}
	if s.Progress != nil && s.Progress.PctComplete.Equal(p.PctComplete) {
		return errDuplicate
	}
	s.Progress = &Progress{PctComplete: p.PctComplete, By: p.By, At: at}
	a.checkMarginAfter()
	return nil
}

// checkChangeOrder holds the rules a change order's money follows:
// amounts in the deal currency's minor unit, a change to at least one of
// them, and an approval that leaves planned cost 0 or more
// (a negative planned cost would show any spend as a margin gain).
func (s *State) checkChangeOrder(c ChangeOrderSignal) error {
	cur := s.Terms.Currency
	if err := checkMinorUnits("amount", c.Amount, cur); err != nil {
		return err
	}
	if err := checkMinorUnits("planned_cost", c.PlannedCost, cur); err != nil {
		return err
	}
	if c.Amount.IsZero() && c.PlannedCost.IsZero() {
		return refuse("change order %s changes neither the amount nor the planned cost", c.ID)
	}
	if c.Status != "approved" {
		return nil
	}
	planned := decimal.Zero
	if s.Terms.PlannedCost != nil {
		planned = *s.Terms.PlannedCost
	}
	for _, o := range s.ChangeOrders {
		if o.Status == "approved" && o.ID != c.ID {
			planned = planned.Add(o.PlannedCost)
		}
	}
	if after := planned.Add(c.PlannedCost); after.IsNegative() {
		return refuse("approving change order %s would take planned cost to %s %s; it must stay 0 or more", c.ID, after, cur)
	}
	return nil
}
