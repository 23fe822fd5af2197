// Package workflows holds DealWorkflow: the Temporal plumbing around the
// rules in package deal. The workflow keeps the deal's process (deal.State);
// PostgreSQL keeps its lists. Each signal is applied to the state, and what
// it changed goes to PostgreSQL and to people through three loops of their
// own (writes.go, ledger.go), so the deal never waits for either.
package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/deal"
	"dealflow/metrics"
)

const (
	TaskQueue = "deals"
	// QueryRecord answers the deal's process state (Status), never its lists.
	QueryRecord = "record"
	// UpdateSignal applies a signal and answers with its Result at once; it
	// shares the signal's handler, so both paths obey the same rules.
	UpdateSignal = "signal"
	// UpdateInvoices takes a batch of invoices (finance intake) and answers
	// each in order.
	UpdateInvoices = "invoices"
)

// WorkflowID is the id of a deal's workflow.
func WorkflowID(dealID string) string { return "deal-" + dealID }

// Input starts a deal. The terms are the start JSON. State is set only by
// continue-as-new.
type Input struct {
	deal.Terms
	// ContinueAfterEvents makes the run continue-as-new once its history has
	// this many events, on top of the server's own suggestion. Zero leaves it
	// to the server.
	ContinueAfterEvents int    `json:"continue_after_events,omitempty"`
	State               *Carry `json:"state,omitempty"`

	// inputErr is what is wrong with the start input as it was sent.
	inputErr string
}

// UnmarshalJSON reads a start input without ever failing: the SDK decodes
// it before the workflow runs, and a decoding error there would fail every
// workflow task of the deal. What is wrong is kept, and start refuses the
// input with it. The terms of a new deal are checked as they were sent
// (deal.CheckInput), since decoding hides a repeated or misspelt field.
func (in *Input) UnmarshalJSON(b []byte) error {
	type plain Input // without this method
	var p plain
	err := json.Unmarshal(b, &p)
	*in = Input(p)
	if in.State == nil {
		if cerr := deal.CheckInput("terms", b, "continue_after_events", "state"); cerr != nil {
			in.inputErr = cerr.Error()
			return nil
		}
	}
	if err != nil {
		in.inputErr = "the start input does not decode: " + err.Error()
	}
	return nil
}

// Carry is what one run hands the next: bounded whatever the deal's size.
type Carry struct {
	Deal deal.State `json:"deal"`
	// Unsaved are rows not yet in PostgreSQL (normally none).
	Unsaved deal.Rows `json:"unsaved"`
	// Entries are ledger entries from plain signals not yet answered.
	Entries []CarriedEntry `json:"entries,omitempty"`
	// Keys are the recent idempotency keys and their answers (keys.go).
	Keys []KeyedAnswer `json:"keys,omitempty"`
	// NoticeSeq numbers the deal's notices (they wait in PostgreSQL);
	// NoticesSent is the last one Slack has, NoticesSaved the last one
	// PostgreSQL has.
	NoticeSeq    int64     `json:"notice_seq"`
	NoticesSent  int64     `json:"notices_sent"`
	NoticesSaved int64     `json:"notices_saved"`
	NextCheck    time.Time `json:"next_check"`
	Health       Health    `json:"health"`
}

// Status is the answer of the `record` query: the process and what is
// still on its way to PostgreSQL and Slack. The lists are read from
// PostgreSQL (the deal page, `starter record`).
type Status struct {
	Deal           deal.State `json:"deal"`
	Health         Health     `json:"health"`
	PendingWrites  int        `json:"pending_writes"`
	PendingLedger  int        `json:"pending_ledger"`
	PendingNotices int        `json:"pending_notices"`
}

// Outcome is the workflow's result: small, whatever the deal's size.
type Outcome struct {
	DealID string      `json:"deal_id"`
	Stage  deal.Stage  `json:"stage"`
	Margin deal.Margin `json:"margin"`
}

// SignalRequest is the argument of the `signal` update.
type SignalRequest struct {
	Signal  string          `json:"signal"`
	Payload json.RawMessage `json:"payload"`
}

// InvoiceBatch is the argument of the `invoices` update. Sources, when
// given, name each row for a sender that may send it again (an intake job).
type InvoiceBatch struct {
	Invoices []json.RawMessage `json:"invoices"`
	Sources  []string          `json:"sources,omitempty"`
}

// MaxBatch bounds one `invoices` update.
const MaxBatch = 500

// minEventsPerRun keeps a low ContinueAfterEvents from making runs that
// continue-as-new before doing anything.
const minEventsPerRun = 60

// A run starts handing over after maxUpdatesPerRun updates, well below
// Temporal's 2,000 per run: updates that arrive while it hands over are
// still accepted and answered by this run, so the rest is their room.
// Only past hardUpdatesPerRun (a flood that never pauses) does the
// validator turn one away, before the server would.
const (
	maxUpdatesPerRun  = 1000
	hardUpdatesPerRun = 1900
)

// What a run hands to the next besides the state (under 192 KiB) is
// bounded too, so the carry stays under 256 KiB: unwritten rows (unsent
// notices among them until PostgreSQL has them), recent keys
// (maxKeyBytes) and unanswered ledger entries.
const (
	maxCarriedRows    = 16 << 10
	maxCarriedEntries = 32 << 10
)

type dealWorkflow struct {
	Carry
	s          *deal.State
	in         Input
	checkEvery time.Duration
	published  string
	writes     writer
	ledger     ledgerQueue
	keys       keyWindow
	// updates counts the updates this run accepted.
	updates int
	// ready is set once the deal is opened or taken over: update handlers
	// wait for it, so an update sent right after the start is answered, not
	// turned away.
	ready bool
	// draining is set once the run is about to end: the ledger answers
	// updates first. handingOver is set once the run waits only for what
	// is on its way to fit the carry.
	draining, handingOver bool
	// signalsTaken counts the plain signals this run took.
	signalsTaken int
}

// DealWorkflow runs one deal from discovery to closed_won or closed_lost,
// and takes late costs for the deal's late-cost window after that.
func DealWorkflow(ctx workflow.Context, in Input) (*Outcome, error) {
	w := &dealWorkflow{in: in}
	// Handlers first, so an update in the first workflow task waits for
	// the deal to open rather than being refused as unknown.
	if err := w.setupHandlers(ctx); err != nil {
		return nil, err
	}
	if err := w.start(ctx); err != nil {
		return nil, err
	}
	w.ready = true
	workflow.Go(ctx, w.writeLoop)
	workflow.Go(ctx, w.notifyLoop)
	workflow.Go(ctx, w.ledgerLoop)
	return w.run(ctx)
}

// start takes the deal over from the previous run, or opens it.
func (w *dealWorkflow) start(ctx workflow.Context) error {
	in := w.in
	info := workflow.GetInfo(ctx)
	switch {
	case in.inputErr != "" && info.ContinuedExecutionRunID != "":
		// The previous run's carry does not decode: a bug of ours, not bad
		// input. Failing the workflow task keeps the deal as it is until a
		// worker that reads the carry is deployed.
		panic("the previous run's carry does not decode: " + in.inputErr)
	case in.inputErr != "":
		return temporal.NewNonRetryableApplicationError("deal terms: "+in.inputErr, "BadTerms", nil)
	}
	if in.State != nil && info.ContinuedExecutionRunID == "" {
		// Only a real continue-as-new may hand state over: a start input
		// carrying one would put a deal anywhere, past every gate.
		return temporal.NewNonRetryableApplicationError(
			"the start input carries a previous run's state (\"state\"); a deal starts from its terms only", "BadTerms", nil)
	}
	if in.State != nil {
		w.Carry = *in.State
		w.s = &w.Carry.Deal
		w.writes.queue(w.Unsaved)
		w.Unsaved = deal.Rows{}
		w.ledger.resume(w.Entries)
		w.Entries = nil
		w.keys.resume(w.Keys)
		w.Keys = nil
		w.writes.noticesSaved = w.NoticesSaved
	} else {
		st, eff, err := deal.Open(in.Terms, workflow.Now(ctx))
		if err != nil {
			return temporal.NewNonRetryableApplicationError(err.Error(), "BadTerms", nil)
		}
		w.s = st
		if err := w.claim(ctx); err != nil {
			return err
		}
		w.absorb(eff)
	}
	every, err := w.s.Terms.CheckEvery()
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "BadTerms", nil)
	}
	w.checkEvery = every
	return nil
}

// claim writes the new deal's row before anything else, and fails the
// run if the deal id belongs to an earlier deal.
func (w *dealWorkflow) claim(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
	req := activities.ClaimRequest{State: *w.s, FirstRunID: workflow.GetInfo(ctx).FirstRunID}
	return workflow.ExecuteActivity(ctx, a.ClaimDeal, req).Get(ctx, nil)
}

func (w *dealWorkflow) setupHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryRecord, func() (Status, error) {
		if w.s == nil {
			return Status{}, errors.New("the deal is opening; ask again")
		}
		return Status{Deal: *w.s, Health: w.Health, PendingWrites: w.writes.pending(), PendingLedger: len(w.ledger.items),
			PendingNotices: int(w.NoticeSeq - w.NoticesSent)}, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSignal,
		func(ctx workflow.Context, req SignalRequest) (deal.Result, error) {
			if err := w.awaitReady(ctx); err != nil {
				return deal.Result{}, err
			}
			return w.handle(ctx, req.Signal, req.Payload, "", true), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(req SignalRequest) error {
			if err := w.admit(); err != nil {
				return err
			}
			for _, n := range deal.SignalNames {
				if n == req.Signal {
					return nil
				}
			}
			return fmt.Errorf("unknown signal %q", req.Signal)
		}}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateInvoices,
		func(ctx workflow.Context, b InvoiceBatch) ([]deal.Result, error) {
			if err := w.awaitReady(ctx); err != nil {
				return nil, err
			}
			return w.takeInvoices(ctx, b)
		},
		workflow.UpdateHandlerOptions{Validator: func(b InvoiceBatch) error {
			if err := w.admit(); err != nil {
				return err
			}
			if len(b.Invoices) > MaxBatch {
				return fmt.Errorf("a batch holds at most %d invoices, not %d", MaxBatch, len(b.Invoices))
			}
			if len(b.Sources) != 0 && len(b.Sources) != len(b.Invoices) {
				return errors.New("sources must name every invoice of the batch, or none")
			}
			return nil
		}})
}

// admit turns an update away only past hardUpdatesPerRun, which a run
// reaches only under a flood that leaves it no moment to hand over. A
// validator must not change the workflow's state (it is not run again on
// replay), so the handlers count.
func (w *dealWorkflow) admit() error {
	if w.updates >= hardUpdatesPerRun {
		return fmt.Errorf("deal %s took %d updates in this run without a pause to hand over; send again", w.in.DealID, w.updates)
	}
	return nil
}

// awaitReady counts an accepted update and holds it while the deal opens
// (the start's first activity) until the deal is open, as Temporal's safe
// message handler sample does.
func (w *dealWorkflow) awaitReady(ctx workflow.Context) error {
	w.updates++
	return workflow.Await(ctx, func() bool { return w.ready })
}

// handle applies one signal payload. It never returns an error and never
// panics on bad input: a refusal is recorded on the deal instead, so no
// payload can fail a workflow task and leave the deal stuck. An invoice or
// fee waits for the ledger when wait is set (an update); a plain signal
// does not.
func (w *dealWorkflow) handle(ctx workflow.Context, signal string, payload []byte, source string, wait bool) deal.Result {
	return w.keyed(ctx, signal, keyOf(signal, payload, !wait), func() deal.Result {
		return w.apply(ctx, signal, payload, source, wait)
	})
}

// apply is handle for a key not seen before.
func (w *dealWorkflow) apply(ctx workflow.Context, signal string, payload []byte, source string, wait bool) deal.Result {
	now := workflow.Now(ctx)
	if len(payload) == 0 {
		// The SDK could not even read the payload as JSON.
		return w.refuse(ctx, signal, "payload is empty or not JSON", payload)
	}
	if deal.IsLedgerSignal(signal) {
		e, err := w.s.CheckEntry(now, signal, payload)
		if err != nil {
			return w.refuse(ctx, signal, err.Error(), payload)
		}
		item := w.ledger.add(signal, e, source, wait)
		if !wait {
			return deal.Result{Status: deal.Accepted}
		}
		if workflow.Await(ctx, func() bool { return item.done }) != nil {
			return deal.Result{Status: deal.Refused, Reason: "the deal's workflow was cancelled"}
		}
		return item.result
	}
	res, eff := w.s.Apply(now, signal, payload)
	w.absorb(eff)
	if res.Status == deal.Refused {
		w.refused(ctx, signal, res.Reason)
	}
	return res
}

func (w *dealWorkflow) refuse(ctx workflow.Context, signal, reason string, payload []byte) deal.Result {
	res, eff := w.s.Refuse(workflow.Now(ctx), signal, reason, payload)
	w.absorb(eff)
	w.refused(ctx, signal, res.Reason)
	return res
}

// refused logs a refusal and counts it for ops, once: not again when the
// workflow's history is replayed.
func (w *dealWorkflow) refused(ctx workflow.Context, signal, reason string) {
	workflow.GetLogger(ctx).Warn("signal refused", "signal", signal, "reason", reason)
	if !workflow.IsReplaying(ctx) {
		metrics.Refusal(signal)
	}
}

// takeInvoices checks a batch of invoices and waits for the ledger to
// answer each; the answers keep the batch's order.
func (w *dealWorkflow) takeInvoices(ctx workflow.Context, b InvoiceBatch) ([]deal.Result, error) {
	out := make([]deal.Result, len(b.Invoices))
	items := make([]*ledgerItem, len(b.Invoices))
	now := workflow.Now(ctx)
	for i, raw := range b.Invoices {
		e, err := w.s.CheckEntry(now, deal.SigInvoice, raw)
		if err != nil {
			out[i] = w.refuse(ctx, deal.SigInvoice, err.Error(), raw)
			continue
		}
		src := ""
		if len(b.Sources) > 0 {
			src = b.Sources[i]
		}
		items[i] = w.ledger.add(deal.SigInvoice, e, src, true)
	}
	if err := workflow.Await(ctx, func() bool {
		for _, it := range items {
			if it != nil && !it.done {
				return false
			}
		}
		return true
	}); err != nil {
		return nil, err
	}
	for i, it := range items {
		if it != nil {
			out[i] = it.result
		}
	}
	return out, nil
}

// absorb queues what applying a signal asked of the outside world: its
// rows, and its notices with them, numbered in the deal's order; a notice
// is sent once PostgreSQL has it (notifyLoop), and so after the rows it
// follows, which the message reads.
func (w *dealWorkflow) absorb(eff deal.Effects) {
	t := w.s.Terms
	for _, n := range eff.Notices {
		w.NoticeSeq++
		m := w.s.Margin
		body := mustJSON(activities.Notification{
			Key: fmt.Sprintf("n%d", w.NoticeSeq), DealID: t.DealID, Client: t.Client, Workstream: t.Workstream,
			Channel: t.SlackChannel, People: t.People, Notice: n, Margin: &m})
		eff.Rows.Notices = append(eff.Rows.Notices, deal.QueuedNotice{Seq: w.NoticeSeq, Body: body})
	}
	w.writes.queue(eff.Rows)
}

// listen starts one goroutine that takes every signal as it arrives. The
// payload is taken raw, so a payload that does not decode becomes a
// recorded refusal rather than a decoding error inside the SDK.
//
// The goroutine waits until a signal is waiting and then takes every
// waiting one (drainSignals), rather than using a selector: a selector that
// is woken holds the signal it was woken by until it runs, where the
// hand-over's drain cannot see it, and looking for unknown names
// (GetUnhandledSignalNames, which peeks into every channel) could
// overwrite it.
func (w *dealWorkflow) listen(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for workflow.Await(ctx, func() bool { return signalsWaiting(ctx) }) == nil {
			w.drainSignals(ctx)
		}
	})
}

// signalsWaiting is true when a signal of any name waits to be taken.
func signalsWaiting(ctx workflow.Context) bool {
	for _, name := range deal.SignalNames {
		if workflow.GetSignalChannel(ctx, name).Len() > 0 {
			return true
		}
	}
	return len(unknownSignals(ctx)) > 0
}

// unknownSignals are the names of waiting signals the deal does not know,
// in a fixed order. The SDK keeps such signals unread; a misspelt name
// ("Invoice") would otherwise vanish without a trace on the deal.
func unknownSignals(ctx workflow.Context) []string {
	var out []string
	for _, name := range workflow.GetUnhandledSignalNames(ctx) {
		if !slices.Contains(deal.SignalNames, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// takeUnknownSignals records each waiting signal of an unknown name as a
// refusal, with the first bytes of its payload.
func (w *dealWorkflow) takeUnknownSignals(ctx workflow.Context) {
	for _, name := range unknownSignals(ctx) {
		w.takeSignals(ctx, name)
	}
}

// takeSignals takes every waiting signal of one name. The SDK drops a
// payload it cannot read as JSON while receiving, so the signals waiting
// are counted first and each one missing from what was received is taken
// with no payload, which the rules refuse as not JSON.
func (w *dealWorkflow) takeSignals(ctx workflow.Context, name string) {
	ch := workflow.GetSignalChannel(ctx, name)
	for range ch.Len() {
		var raw json.RawMessage
		if !ch.ReceiveAsync(&raw) {
			raw = nil
		}
		w.signalsTaken++
		if !slices.Contains(deal.SignalNames, name) {
			w.refuse(ctx, name, fmt.Sprintf("unknown signal %q; known: %s", name, strings.Join(deal.SignalNames, ", ")), raw)
			continue
		}
		w.handle(ctx, name, raw, "", false)
	}
}

// drainSignals takes the signals that arrived but were not yet handled, so
// none is lost when this run ends.
func (w *dealWorkflow) drainSignals(ctx workflow.Context) {
	for _, name := range deal.SignalNames {
		w.takeSignals(ctx, name)
	}
	w.takeUnknownSignals(ctx)
}

func (w *dealWorkflow) run(ctx workflow.Context) (*Outcome, error) {
	w.listen(ctx)
	for {
		w.publish(ctx)
		now := workflow.Now(ctx)
		if w.s.Stage.IsFinal() && !now.Before(w.s.EndedAt.Add(w.s.Terms.LateCostWindow())) {
			break
		}
		if w.shouldContinueAsNew(ctx) {
			return nil, w.continueAsNew(ctx)
		}
		seen := w.s.Version
		changed := func() bool { return w.s.Version != seen || w.shouldContinueAsNew(ctx) }
		wake, checking := w.nextWake(now)
		wake = w.escalationWake(wake) // questions.go
		if wake.IsZero() {
			if err := workflow.Await(ctx, changed); err != nil {
				return w.cancelled(ctx, err)
			}
			continue
		}
		if now.Before(wake) {
			ok, err := workflow.AwaitWithTimeout(ctx, wake.Sub(now), changed)
			if err != nil {
				return w.cancelled(ctx, err)
			}
			if ok {
				continue
			}
		}
		w.escalate(ctx) // questions.go
		if checking && !workflow.Now(ctx).Before(w.NextCheck) {
			w.absorb(w.s.CheckMargin(workflow.Now(ctx)))
			w.NextCheck = workflow.Now(ctx).Add(w.checkEvery)
		}
	}
	// The late-cost window is over: finish what is on its way, then end.
	w.draining = true
	if err := w.handOver(ctx, func() bool {
		return w.writes.settled(w.s.Version) && w.NoticesSent == w.NoticeSeq && w.ledger.idle()
	}); err != nil {
		return w.cancelled(ctx, err)
	}
	return &Outcome{DealID: w.s.Terms.DealID, Stage: w.s.Stage, Margin: w.s.Margin}, nil
}

// nextWake is when the main loop must wake without a signal: the next
// margin check during delivery, or the end of the late-cost window.
func (w *dealWorkflow) nextWake(now time.Time) (time.Time, bool) {
	switch {
	case w.s.Stage.IsFinal():
		return w.s.EndedAt.Add(w.s.Terms.LateCostWindow()), false
	case w.s.BaseStage == "":
		return time.Time{}, false
	}
	if w.NextCheck.IsZero() {
		w.NextCheck = now.Add(w.checkEvery)
	}
	return w.NextCheck, true
}

// handOver takes every waiting signal and returns only when every update
// this run accepted is answered and what is still on its way fits the
// carry (fits), right after taking the signals once more, so none arrives
// unread before the run ends. It returns within one workflow task of that
// check, so no update is accepted in between: an update that reaches the
// server while the run ends is not lost either, since the server sends it
// again to the next run (it was never accepted here). It ends the run only
// after a quiet moment with no new signal: Temporal refuses to end a run
// while signals land during its last workflow task, and every refusal
// costs a replay of the whole run, so trying in the middle of a burst only
// makes the burst longer.
func (w *dealWorkflow) handOver(ctx workflow.Context, carried func() bool) error {
	fits := func() bool { return carried() && workflow.AllHandlersFinished(ctx) }
	// settle answers the updates accepted so far within this workflow task
	// and lets their handlers return.
	settle := func() error {
		if !w.handingOver {
			return nil
		}
		if err := w.settleWaited(ctx); err != nil {
			return nil // PostgreSQL is down: the loop below waits and tries again
		}
		_, err := workflow.AwaitWithTimeout(ctx, time.Second, fits)
		return err
	}
	for waits := 0; ; {
		w.drainSignals(ctx)
		if err := settle(); err != nil {
			return err
		}
		if !fits() {
			// Let the ledger and the writer make progress, then look again.
			if _, err := workflow.AwaitWithTimeout(ctx, time.Second, fits); err != nil {
				return err
			}
			continue
		}
		// Under a flood with no quiet moment at all, try anyway.
		if waits == maxQuietWaits {
			return nil
		}
		seen := w.signalsTaken
		if err := workflow.Sleep(ctx, quietMoment); err != nil {
			return err
		}
		waits++
		w.drainSignals(ctx)
		if err := settle(); err != nil {
			return err
		}
		if w.signalsTaken == seen && fits() {
			return nil
		}
	}
}

// quietMoment is how long no signal must arrive before a run ends, and
// maxQuietWaits how many times the hand-over waits for one.
const (
	quietMoment   = 200 * time.Millisecond
	maxQuietWaits = 5
)

// cancelled ends a run someone cancelled (in the Temporal UI, say): what
// is queued is written as it stands, and the workflow ends as canceled.
// Closing a deal lost is the way to end it as a business decision.
func (w *dealWorkflow) cancelled(ctx workflow.Context, cause error) (*Outcome, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 5 * time.Minute,
	})
	if !w.writes.settled(w.s.Version) {
		req := activities.SaveRequest{State: w.s.Summary(), Health: w.Health.String(), Rows: w.writes.all()}
		if err := workflow.ExecuteActivity(dctx, a.SaveRows, req).Get(dctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("the last rows were not saved after the cancel", "error", err)
		}
	}
	return nil, cause
}

func (w *dealWorkflow) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	if info.GetContinueAsNewSuggested() || w.updates >= maxUpdatesPerRun {
		return true
	}
	limit := w.in.ContinueAfterEvents
	if limit > 0 && limit < minEventsPerRun {
		limit = minEventsPerRun
	}
	return limit > 0 && info.GetCurrentHistoryLength() >= limit
}

// continueAsNew hands the state to a fresh run. Every update this run
// accepted is answered first (the ledger takes their entries first);
// plain signals are taken to the last, and what is still on its way
// travels in the carry within its bounds: ledger entries not yet answered
// (from plain signals: no one waits for them), rows not yet written,
// notices not yet sent. Beyond the bounds (PostgreSQL down for long) the
// run waits for PostgreSQL instead.
func (w *dealWorkflow) continueAsNew(ctx workflow.Context) error {
	// No waiting for PostgreSQL or Slack to settle: under a steady stream
	// they never would, and what is on their way travels in the carry.
	w.draining = true
	w.handingOver = true
	fits := func() bool {
		return !w.ledger.busy && !w.ledger.waited() && w.ledger.bytes() <= maxCarriedEntries && w.writes.bytes() <= maxCarriedRows
	}
	if err := w.handOver(ctx, fits); err != nil {
		_, err = w.cancelled(ctx, err)
		return err
	}
	// The carried rows are written first in the next run; a notice still
	// being sent is sent again by the next run, and found already posted.
	w.Unsaved = w.writes.all()
	w.NoticesSaved = w.writes.noticesSaved
	w.Entries = w.ledger.carry()
	w.Keys = w.keys.answered
	next := w.in
	next.Terms = w.s.Terms
	carry := w.Carry
	carry.Deal = *w.s
	next.State = &carry
	return workflow.NewContinueAsNewError(ctx, DealWorkflow, next)
}
