package deal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// staleError marks a signal whose person acted before the change already
// recorded: a late retry of an old click. It changes nothing and is
// answered as a duplicate, with the reason.
type staleError struct{ reason string }

func (e staleError) Error() string { return e.reason }

func stale(what string, recorded time.Time) error {
	return staleError{fmt.Sprintf("%s has a newer change, made at %s; this one is older and changes nothing", what, recorded.UTC().Format(time.RFC3339))}
}

// actedAt is when the person acted: as the source stamped it, or the
// deal's clock when the signal arrived.
func (a *applier) actedAt(e Envelope) time.Time {
	if e.ActedAt != nil {
		return *e.ActedAt
	}
	return a.now
}

// refusal is a signal broken or not allowed now; its text is shown to people.
type refusal struct{ reason string }

func (r refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error { return refusal{fmt.Sprintf(format, args...)} }

// applier carries one signal's application: the time and its effects.
type applier struct {
	s       *State
	now     time.Time
	effects Effects
}

// Open starts a deal: the discovery ticket opens at once.
func Open(t Terms, now time.Time) (*State, Effects, error) {
	if err := t.Normalize(); err != nil {
		return nil, Effects{}, err
	}
	s := &State{Terms: t, OpenedAt: now, Tickets: []TicketState{}, Commitments: []Keyed{}, Incidents: []IncidentState{},
		ChangeOrders: []ChangeOrder{}, Ledger: NewLedger(), Alerted: OnTrack}
	a := &applier{s: s, now: now}
	a.moveTo(Discovery, t.People.AE, "deal opened")
	a.openTicket(Discovery)
	s.refreshMargin(now)
	s.Version = 1
	return s, a.effects, nil
}

// Apply takes one signal payload as it arrived. A payload that does not
// decode, or a signal the rules do not allow now, is refused: the refusal
// is a row for PostgreSQL and nothing else changes. A repeat changes
// nothing at all. Invoices and fees go through CheckEntry instead, since
// PostgreSQL holds the ledger they are checked against.
func (s *State) Apply(now time.Time, signal string, payload []byte) (Result, Effects) {
	a := &applier{s: s, now: now}
	err := a.dispatch(signal, payload)
	switch {
	case errors.Is(err, errDuplicate):
		return Result{Status: Duplicate}, Effects{}
	case errors.As(err, new(staleError)):
		return Result{Status: Duplicate, Reason: err.Error()}, Effects{}
	case err != nil:
		// A refused sign-off also leaves its row on the ticket.
		res, eff := s.Refuse(now, signal, reason(err), payload)
		eff.Rows.Merge(a.effects.Rows)
		return res, eff
	}
	s.refreshMargin(now)
	s.Version++
	return Result{Status: Accepted}, a.effects
}

// checkInput is the check every payload passes before it is decoded:
// CheckInput for a known signal, the length guard alone for an unknown
// name, whose payload is only kept as a refusal.
func (s *State) checkInput(signal string, payload []byte) error {
	if slices.Contains(SignalNames, signal) {
		return CheckInput(signal, payload)
	}
	return guardPayload(payload)
}

func reason(err error) string {
	var ref refusal
	if errors.As(err, &ref) {
		return err.Error()
	}
	return "payload does not decode: " + err.Error()
}

func (a *applier) dispatch(signal string, payload []byte) error {
	if IsLedgerSignal(signal) {
		return refuse("%s goes through the ledger, not Apply", signal)
	}
	if err := a.s.checkInput(signal, payload); err != nil {
		return err
	}
	if a.s.Stage.IsFinal() {
		// A re-sent signal is still a repeat after the deal ended; the rules
		// run on a copy to find out, so nothing on the deal can change.
		if errors.Is((&applier{s: a.s.Clone(), now: a.now}).route(signal, payload), errDuplicate) {
			return errDuplicate
		}
		return refuse("deal %s is %s; it takes no more %s signals", a.s.Terms.DealID, a.s.Stage, signal)
	}
	return a.route(signal, payload)
}

// route sends a payload to the rule for its signal.
func (a *applier) route(signal string, payload []byte) error {
	switch signal {
	case SigSignoff:
		return take(a.s, payload, a.signoff)
	case SigCommitment:
		return take(a.s, payload, a.commitment)
	case SigClose:
		return take(a.s, payload, a.close)
	case SigHandover:
		return take(a.s, payload, a.handover)
	case SigStage:
		return take(a.s, payload, a.stage)
	case SigIncident:
		return take(a.s, payload, a.incident)
	case SigChangeOrder:
		return take(a.s, payload, a.changeOrder)
	case SigProgress:
		return take(a.s, payload, a.progress)
	case SigQuestion:
		return take(a.s, payload, a.question)
	case SigAnswer:
		return take(a.s, payload, a.answer)
	}
	return refuse("unknown signal %q; known: %s", signal, strings.Join(SignalNames, ", "))
}

// take decodes strictly: an unknown field is most often a typo, and a typo
// in a sign-off should be refused, not half-read.
func take[T any](s *State, payload []byte, apply func(T) error) error {
	v, err := decode[T](payload)
	if err != nil {
		return err
	}
	return apply(v)
}

// decode reads a payload into its signal type. The payload passed
// CheckInput, whose rules cover its text.
func decode[T any](payload []byte) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, refuse("payload does not decode: %s", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, refuse("payload holds more than one JSON value")
	}
	return v, nil
}

// Refuse records a signal that was not taken: a refusal row with the
// reason and the first bytes of the payload. The state keeps only the
// count, so a flood of bad input costs a bounded amount.
func (s *State) Refuse(now time.Time, signal, reason string, payload []byte) (Result, Effects) {
	s.Refusals++
	s.Version++
	r := Refusal{Seq: int(s.Refusals), Signal: clip(signal, maxIDLen), Reason: clip(reason, maxTextLen), Payload: clip(string(payload), maxRefusalPayload), At: now}
	return Result{Status: Refused, Reason: r.Reason}, Effects{Rows: Rows{Refusals: []Refusal{r}}}
}

// maxRefusalPayload is how much of a refused payload is kept to show people.
const maxRefusalPayload = 2000

// clip makes s storable text of at most max bytes: valid UTF-8 and no NUL,
// which PostgreSQL text cannot hold.
func clip(s string, max int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

func (a *applier) moveTo(to Stage, by, reason string) {
	s := a.s
	from := s.Stage
	if from == to {
		return
	}
	s.StageChanges++
	ch := StageChange{Seq: int(s.StageChanges), From: from, To: to, At: a.now, By: by, Reason: reason}
	s.Stage = to
	if to.IsFinal() {
		at := a.now
		s.EndedAt = &at
	}
	a.effects.Rows.StageChanges = append(a.effects.Rows.StageChanges, ch)
	a.notify(Notice{Kind: NoticeStageChanged, Change: &ch})
}

// settleDelivery lays mitigation over the delivery stage while a critical
// incident is open or the margin is off track, and lifts it after.
func (a *applier) settleDelivery(by, reason string) {
	s := a.s
	if s.BaseStage == "" || s.Stage.IsFinal() {
		return
	}
	want := s.BaseStage
	if s.OpenCriticalIncidents() > 0 || s.Alerted == OffTrack {
		want = Mitigation
	}
	a.moveTo(want, by, reason)
}

func (a *applier) openTicket(stage Stage) {
	spec := ticketSpecs[stage]
	t := TicketState{ID: string(stage), Owner: spec.owner(a.s.Terms.People), DeliverableKind: spec.deliverable,
		ClientSignoffRequired: a.s.Terms.needsClientSignoff(string(stage)), Status: "open", OpenedAt: a.now}
	a.s.Tickets = append(a.s.Tickets, t)
	a.writeTicket(&t, nil)
	v := t.View()
	a.notify(Notice{Kind: NoticeTicketOpened, Ticket: &v})
}

// writeTicket queues the ticket's row; d is its new deliverable, if any.
func (a *applier) writeTicket(t *TicketState, d *Deliverable) {
	v := t.View()
	v.Deliverable = d
	a.effects.Rows.Tickets = append(a.effects.Rows.Tickets, v)
}
