package dealv1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Result is what the sender of a signal learns: it was taken, it was a
// repeat of something already taken, or it was refused and why.
type Result struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

const (
	Accepted  = "accepted"
	Duplicate = "duplicate"
	Refused   = "refused"
)

// errDuplicate marks a signal that repeats one already taken.
var errDuplicate = errors.New("duplicate")

// refusal is a signal broken or not allowed now; its text is shown to people.
type refusal struct{ reason string }

func (r refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error { return refusal{fmt.Sprintf(format, args...)} }

// applier carries one signal's application: the time and what to tell people.
type applier struct {
	r       *Record
	now     time.Time
	effects Effects
}

// Open starts a deal: the discovery ticket opens at once.
func Open(t Terms, now time.Time) (*Record, Effects, error) {
	if err := t.Normalize(); err != nil {
		return nil, Effects{}, err
	}
	// Empty lists, not nil ones: the record reads the same as JSON whether
	// it comes from the workflow or from PostgreSQL.
	r := &Record{Terms: t, OpenedAt: now, History: []StageChange{}, Tickets: []Ticket{}, Commitments: []Commitment{},
		Incidents: []Incident{}, Fees: []Fee{}, Invoices: []Invoice{}, ChangeOrders: []ChangeOrder{}, Alerts: []Alert{}, Refusals: []Refusal{}}
	a := &applier{r: r, now: now}
	a.moveTo(Discovery, t.People.AE, "deal opened")
	a.openTicket(Discovery)
	r.refreshMargin(now)
	r.Version = 1
	return r, a.effects, nil
}

// Apply takes one signal payload as it arrived. A payload that does not
// decode, or a signal the rules do not allow now, is recorded as refused and
// changes nothing else; a repeat changes nothing at all.
func (r *Record) Apply(now time.Time, signal string, payload []byte) (Result, Effects) {
	a := &applier{r: r, now: now}
	err := a.dispatch(signal, payload)
	switch {
	case errors.Is(err, errDuplicate):
		return Result{Status: Duplicate}, Effects{}
	case err != nil:
		var ref refusal
		reason := err.Error()
		if !errors.As(err, &ref) {
			reason = "payload does not decode: " + reason
		}
		return r.Refuse(now, signal, reason, payload), a.effects
	}
	r.refreshMargin(now)
	r.Version++
	return Result{Status: Accepted}, a.effects
}

func (a *applier) dispatch(signal string, payload []byte) error {
	if a.r.Stage.IsFinal() {
		// A re-sent signal is still a repeat after the deal ended; the rules
		// run on a copy to find out, so nothing on the record can change.
		var c Record
		b, _ := json.Marshal(a.r)
		if json.Unmarshal(b, &c) == nil && errors.Is((&applier{r: &c, now: a.now}).route(signal, payload), errDuplicate) {
			return errDuplicate
		}
		return refuse("deal %s is %s; it takes no more signals", a.r.Terms.DealID, a.r.Stage)
	}
	return a.route(signal, payload)
}

// route sends a payload to the rule for its signal.
func (a *applier) route(signal string, payload []byte) error {
	switch signal {
	case SigSignoff:
		return take(payload, a.signoff)
	case SigCommitment:
		return take(payload, a.commitment)
	case SigClose:
		return take(payload, a.close)
	case SigHandover:
		return take(payload, a.handover)
	case SigStage:
		return take(payload, a.stage)
	case SigIncident:
		return take(payload, a.incident)
	case SigFee:
		return take(payload, a.fee)
	case SigInvoice:
		return take(payload, a.invoice)
	case SigChangeOrder:
		return take(payload, a.changeOrder)
	case SigProgress:
		return take(payload, a.progress)
	}
	return refuse("unknown signal %q; known: %s", signal, strings.Join(SignalNames, ", "))
}

// take decodes strictly: an unknown field is most often a typo, and a typo
// in a sign-off should be refused, not half-read.
func take[T any](payload []byte, apply func(T) error) error {
	var v T
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if err := checkText(v); err != nil {
		return err
	}
	return apply(v)
}

// Refuse records a signal that was not taken, with the reason; nothing else
// on the record changes.
func (r *Record) Refuse(now time.Time, signal, reason string, payload []byte) Result {
	seq := 1
	if n := len(r.Refusals); n > 0 {
		seq = r.Refusals[n-1].Seq + 1
	}
	// The payload is kept as text people can read; bytes PostgreSQL text
	// cannot hold are dropped.
	p := strings.ToValidUTF8(strings.ReplaceAll(string(payload), "\x00", ""), "")
	if len(p) > 2000 {
		p = strings.ToValidUTF8(p[:2000], "") + "…"
	}
	r.Refusals = append(r.Refusals, Refusal{Seq: seq, Signal: signal, Reason: reason, Payload: p, At: now})
	if len(r.Refusals) > MaxRefusals {
		r.Refusals = slices.Clone(r.Refusals[len(r.Refusals)-MaxRefusals:])
	}
	r.Version++
	return Result{Status: Refused, Reason: reason}
}

func (a *applier) moveTo(to Stage, by, reason string) {
	r := a.r
	from := r.Stage
	if from == to {
		return
	}
	ch := StageChange{Seq: len(r.History) + 1, From: from, To: to, At: a.now, By: by, Reason: reason}
	r.History = append(r.History, ch)
	r.Stage = to
	a.notify(Notice{Kind: NoticeStageChanged, Change: &ch})
}

// settleDelivery lays mitigation over the delivery stage while a critical
// incident is open or the margin is off track, and lifts it after.
func (a *applier) settleDelivery(by, reason string) {
	r := a.r
	if r.BaseStage == "" || r.Stage.IsFinal() {
		return
	}
	want := r.BaseStage
	if r.OpenCriticalIncidents() > 0 || r.AlertedMarginStatus() == OffTrack {
		want = Mitigation
	}
	a.moveTo(want, by, reason)
}

func (a *applier) openTicket(stage Stage) {
	spec := ticketSpecs[stage]
	t := Ticket{
		ID:                    string(stage),
		Owner:                 spec.owner(a.r.Terms.People),
		DeliverableKind:       spec.deliverable,
		ClientSignoffRequired: a.r.Terms.needsClientSignoff(string(stage)),
		Status:                "open",
		OpenedAt:              a.now,
		Signoffs:              []Signoff{},
	}
	a.r.Tickets = append(a.r.Tickets, t)
	a.notify(Notice{Kind: NoticeTicketOpened, Ticket: t.clone()})
}

func (a *applier) signoff(s SignoffSignal) error {
	r := a.r
	t := r.ticket(s.Ticket)
	if t == nil {
		return refuse("no ticket %q on this deal; presale tickets are discovery, scoping, proposal, pricing", s.Ticket)
	}
	if s.ID != "" && slices.ContainsFunc(t.Signoffs, func(o Signoff) bool { return o.ID == s.ID && !o.Refused }) {
		return errDuplicate
	}
	if s.Deliverable != nil && s.Deliverable.Kind == "" {
		s.Deliverable.Kind = t.DeliverableKind
	}
	seq := 1
	if n := len(t.Signoffs); n > 0 {
		seq = t.Signoffs[n-1].Seq + 1
	}
	so := Signoff{Seq: seq, ID: s.ID, By: s.By, Side: s.Side, Decision: s.Decision,
		Deliverable: s.Deliverable, Note: s.Note, At: a.now}
	if t.Status == "closed" && t.repeats(so) {
		return errDuplicate
	}
	if err := checkSignoff(t, s); err != nil {
		so.Refused, so.Reason = true, err.Error()
		t.Signoffs = dropOldRefused(append(t.Signoffs, so))
		return err
	}
	if t.repeats(so) {
		return errDuplicate
	}
	t.Signoffs = append(t.Signoffs, so)
	switch {
	case s.Decision == "approve" && s.Side == "internal":
		t.InternalApproved = true
		t.Deliverable = s.Deliverable
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
	a.notify(Notice{Kind: NoticeSignoff, Ticket: t.clone(), Signoff: &so})
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
func (t *Ticket) repeats(so Signoff) bool {
	switch {
	case so.Decision == "approve" && so.Side == "internal":
		return t.InternalApproved && sameDeliverable(t.Deliverable, so.Deliverable)
	case so.Decision == "approve":
		return t.ClientApproved
	}
	for i := len(t.Signoffs) - 1; i >= 0; i-- {
		if o := t.Signoffs[i]; !o.Refused {
			return o.Side == so.Side && o.By == so.By && o.Decision == so.Decision && o.Note == so.Note
		}
	}
	return false
}

// A ticket keeps its newest refused sign-offs only, so repeated wrong clicks
// cannot grow the record without bound; Refusals keeps the log.
const maxRefusedSignoffs = 50

func dropOldRefused(sos []Signoff) []Signoff {
	refused := 0
	for _, o := range sos {
		if o.Refused {
			refused++
		}
	}
	out := make([]Signoff, 0, len(sos))
	for _, o := range sos {
		if o.Refused && refused > maxRefusedSignoffs {
			refused--
			continue
		}
		out = append(out, o)
	}
	return out
}

func sameDeliverable(a, b *Deliverable) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func checkSignoff(t *Ticket, s SignoffSignal) error {
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

func (a *applier) commitment(c CommitmentSignal) error {
	r := a.r
	if c.ID == "" || strings.TrimSpace(c.Text) == "" || c.By == "" {
		return refuse("a commitment needs id, text and by")
	}
	if !slices.Contains(CommitmentKinds, c.Kind) {
		return refuse("commitment kind must be one of %s, not %q", strings.Join(CommitmentKinds, ", "), c.Kind)
	}
	if len(c.Text) > maxCommitmentTextSz {
		return refuse("commitment text is longer than %d characters", maxCommitmentTextSz)
	}
	if old := r.commitment(c.ID); old != nil {
		if old.Kind == c.Kind && old.Text == c.Text && old.Value == c.Value && old.By == c.By {
			return errDuplicate
		}
		return refuse("commitment %s is already recorded with other content; record a change under a new id", c.ID)
	}
	if !r.Stage.IsPresale() {
		return refuse("commitments are recorded during presale; the deal is at %s", r.Stage)
	}
	r.Commitments = append(r.Commitments, Commitment{ID: c.ID, Kind: c.Kind, Text: c.Text, Value: c.Value, By: c.By, At: a.now})
	return nil
}

func (a *applier) close(c CloseSignal) error {
	r := a.r
	if r.Close != nil && r.Close.Outcome == c.Outcome && r.Close.By == c.By {
		return errDuplicate
	}
	if c.By != r.Terms.People.AE {
		return refuse("only the AE %s can close the deal, not %q", r.Terms.People.AE, c.By)
	}
	switch c.Outcome {
	case "won":
		if r.Stage != Closing {
			return refuse("the deal can be won only once pricing is signed off; it is at %s", r.Stage)
		}
		r.Close = &Close{Outcome: c.Outcome, By: c.By, Reason: c.Reason, At: a.now}
		a.moveTo(Handover, c.By, "closed won")
		r.Handover = &HandoverTicket{PM: r.Terms.People.PM, Status: "open", OpenedAt: a.now}
		a.notify(Notice{Kind: NoticeHandoverOpened, Tickets: r.cloneTickets(), Commitments: slices.Clone(r.Commitments)})
	case "lost":
		if !r.Stage.IsPresale() {
			return refuse("a deal can be lost only before it is won; it is at %s", r.Stage)
		}
		r.Close = &Close{Outcome: c.Outcome, By: c.By, Reason: c.Reason, At: a.now}
		if t := r.OpenTicket(); t != nil {
			t.Status = "cancelled"
		}
		a.moveTo(ClosedLost, c.By, c.Reason)
	default:
		return refuse("outcome must be won or lost, not %q", c.Outcome)
	}
	return nil
}

func (a *applier) handover(h HandoverSignal) error {
	r := a.r
	if h.Checklist.CommitmentsAcknowledged == nil {
		h.Checklist.CommitmentsAcknowledged = []string{}
	}
	ho := r.Handover
	if ho == nil {
		return refuse("there is no handover ticket yet: the deal is at %s and opens one when it is won", r.Stage)
	}
	if ho.Status == "signed_off" {
		if h.SignedOff && h.By == ho.SignedOffBy && sameChecklist(h.Checklist, ho.Checklist) {
			return errDuplicate
		}
		return refuse("the handover was already signed off by %s", ho.SignedOffBy)
	}
	if h.By != ho.PM {
		return refuse("only the assigned PM %s can sign off the handover, not %q", ho.PM, h.By)
	}
	if !h.SignedOff {
		if sameChecklist(h.Checklist, ho.Checklist) {
			return errDuplicate
		}
		ho.Checklist = h.Checklist
		return nil
	}
	if missing := r.checklistGaps(h.Checklist); len(missing) > 0 {
		return refuse("the handover checklist is not complete: %s", strings.Join(missing, "; "))
	}
	at := a.now
	ho.Checklist, ho.Status, ho.SignedOffAt, ho.SignedOffBy = h.Checklist, "signed_off", &at, h.By
	r.BaseStage = InProgress
	a.moveTo(InProgress, h.By, "handover signed off")
	// Costs booked before delivery count from its first day.
	a.checkMargin()
	a.settleDelivery(h.By, "open critical incident")
	return nil
}

func (r *Record) checklistGaps(c Checklist) []string {
	var gaps []string
	if !c.DeliverablesReviewed {
		gaps = append(gaps, "deliverables_reviewed is not confirmed")
	}
	var unacked []string
	for _, cm := range r.Commitments {
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

func sameChecklist(a, b Checklist) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func (a *applier) stage(s StageSignal) error {
	r := a.r
	p := r.Terms.People
	if s.To != Maintenance && s.To != ClosedWon {
		return refuse("stage can be moved only to maintenance or closed_won, not %q", s.To)
	}
	if s.By != p.PM && s.By != p.GM {
		return refuse("only the PM %s or the GM %s can move the stage, not %q", p.PM, p.GM, s.By)
	}
	if s.To == ClosedWon && r.Stage == ClosedWon {
		return errDuplicate
	}
	if r.BaseStage == "" {
		return refuse("the deal is at %s; it moves to %s only after the handover is signed off", r.Stage, s.To)
	}
	if s.To == Maintenance {
		if r.BaseStage == Maintenance {
			return errDuplicate
		}
		r.BaseStage = Maintenance
		a.settleDelivery(s.By, "moved to maintenance")
		return nil
	}
	if n := r.OpenCriticalIncidents(); n > 0 {
		return refuse("the deal cannot close while %d critical incident(s) are open", n)
	}
	// The final snapshot: the margin the deal closed on.
	a.checkMargin()
	a.moveTo(ClosedWon, s.By, "delivery complete")
	return nil
}

func (a *applier) incident(in IncidentSignal) error {
	r := a.r
	if in.IncidentID == "" {
		return refuse("incident_id is required")
	}
	if !slices.Contains(Severities, in.Severity) {
		return refuse("severity must be critical, major or minor, not %q", in.Severity)
	}
	if !slices.Contains(IncidentStatuses, in.Status) {
		return refuse("status must be open or resolved, not %q", in.Status)
	}
	if r.Close == nil || r.Close.Outcome != "won" {
		return refuse("incidents are tracked once the deal is won; it is at %s", r.Stage)
	}
	i := slices.IndexFunc(r.Incidents, func(x Incident) bool { return x.IncidentID == in.IncidentID })
	if i < 0 {
		if strings.TrimSpace(in.Title) == "" {
			return refuse("a new incident needs a title")
		}
		r.Incidents = append(r.Incidents, Incident{IncidentID: in.IncidentID, Severity: in.Severity, Status: in.Status, Title: in.Title, OpenedAt: a.now, UpdatedAt: a.now})
		i = len(r.Incidents) - 1
	} else {
		cur := &r.Incidents[i]
		title := in.Title
		if title == "" {
			title = cur.Title
		}
		if cur.Severity == in.Severity && cur.Status == in.Status && cur.Title == title {
			return errDuplicate
		}
		cur.Severity, cur.Status, cur.Title, cur.UpdatedAt = in.Severity, in.Status, title, a.now
	}
	inc := r.Incidents[i]
	a.notify(Notice{Kind: NoticeIncident, Incident: &inc})
	a.settleDelivery(r.Terms.People.PM, "incident "+inc.IncidentID+" "+inc.Status)
	return nil
}

func (a *applier) fee(f FeeSignal) error {
	r := a.r
	if f.FeeID == "" {
		return refuse("fee_id is required")
	}
	if !slices.Contains(FeeKinds, f.Kind) {
		return refuse("fee kind must be invoiced or collected, not %q", f.Kind)
	}
	if err := checkAmount(f.Amount, false); err != nil {
		return refuse("fee amount %s", err)
	}
	f.Currency = strings.ToUpper(f.Currency)
	if f.Currency != r.Terms.Currency {
		return refuse("fees are billed in the deal's currency %s, not %q", r.Terms.Currency, f.Currency)
	}
	if f.Date.IsZero() {
		return refuse("fee date is required (YYYY-MM-DD)")
	}
	fee := Fee{FeeID: f.FeeID, Kind: f.Kind, Amount: f.Amount, Currency: f.Currency, Date: f.Date}
	if i := slices.IndexFunc(r.Fees, func(x Fee) bool { return x.FeeID == f.FeeID }); i >= 0 {
		old := r.Fees[i]
		if old.Kind == fee.Kind && old.Amount.Equal(fee.Amount) && old.Date.Equal(fee.Date.Time) {
			return errDuplicate
		}
		return refuse("fee %s is already recorded with other content", f.FeeID)
	}
	if r.Close == nil || r.Close.Outcome != "won" {
		return refuse("fees are recorded once the deal is won; it is at %s", r.Stage)
	}
	r.Fees = append(r.Fees, fee)
	return nil
}

func (a *applier) invoice(s InvoiceSignal) error {
	r := a.r
	inv, err := NewInvoice(s, r.Terms.Currency)
	if err != nil {
		return err
	}
	inv.ReceivedAt = a.now
	if i := slices.IndexFunc(r.Invoices, func(x Invoice) bool { return x.InvoiceID == inv.InvoiceID }); i >= 0 {
		if r.Invoices[i].SameContent(inv) {
			return errDuplicate
		}
		return refuse("invoice %s is already recorded with other content (amount %s %s); send a credit note or use a new invoice_id",
			inv.InvoiceID, r.Invoices[i].Amount, r.Invoices[i].Currency)
	}
	r.Invoices = append(r.Invoices, inv)
	a.checkMarginAfter()
	return nil
}

func (a *applier) changeOrder(c ChangeOrderSignal) error {
	r := a.r
	p := r.Terms.People
	if c.ID == "" {
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
	if r.Close == nil || r.Close.Outcome != "won" {
		return refuse("change orders come after the deal is won; it is at %s", r.Stage)
	}
	co := ChangeOrder{ID: c.ID, Amount: c.Amount, PlannedCost: c.PlannedCost, Status: c.Status, By: c.By, At: a.now}
	i := slices.IndexFunc(r.ChangeOrders, func(x ChangeOrder) bool { return x.ID == c.ID })
	if i >= 0 {
		old := r.ChangeOrders[i]
		if old.Status == co.Status && old.Amount.Equal(co.Amount) && old.PlannedCost.Equal(co.PlannedCost) {
			return errDuplicate
		}
		if old.Status != "pending" {
			return refuse("change order %s is already %s", c.ID, old.Status)
		}
	}
	if co.Status == "approved" && r.Terms.ContractValue.Add(approvedAmount(r.ChangeOrders, c.ID)).Add(co.Amount).Sign() <= 0 {
		return refuse("approving change order %s would take revenue to zero or below", c.ID)
	}
	if i >= 0 {
		r.ChangeOrders[i] = co
	} else {
		r.ChangeOrders = append(r.ChangeOrders, co)
	}
	a.checkMarginAfter()
	return nil
}

func (a *applier) progress(p ProgressSignal) error {
	r := a.r
	if p.By != r.Terms.People.PM {
		return refuse("only the PM %s reports progress, not %q", r.Terms.People.PM, p.By)
	}
	if p.PctComplete.Sign() <= 0 || p.PctComplete.GreaterThan(hundred) {
		return refuse("pct_complete must be above 0 and at most 100, not %s", p.PctComplete)
	}
	if err := decimalPlaces("pct_complete", p.PctComplete, 2); err != nil {
		return err
	}
	if !r.Stage.IsDelivery() {
		return refuse("progress is reported during delivery; the deal is at %s", r.Stage)
	}
	if r.Progress != nil && r.Progress.PctComplete.Equal(p.PctComplete) {
		return errDuplicate
	}
	r.Progress = &Progress{PctComplete: p.PctComplete, By: p.By, At: a.now}
	a.checkMarginAfter()
	return nil
}
