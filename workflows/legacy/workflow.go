// Package legacy is DealWorkflow as it ran before the ledger moved to
// PostgreSQL (version 1), kept so that deals started then still replay.
// It is frozen: the only change ever made to it is the upgrade patch in
// run(), which hands a running deal to the current code at its next
// workflow task. Never edit it otherwise; see "Long life" in the README.
package legacy

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	deal "dealflow/workflows/legacy/dealv1"
)

const (
	QueryRecord  = "record"
	UpdateSignal = "signal"
	// workflowType is the name every version of the deal workflow runs under.
	workflowType = "DealWorkflow"
	// UpgradeChangeID is the patch that moves a version-1 run to the current
	// code by continuing as new.
	UpgradeChangeID = "upgrade-to-ledger-v2"
)

// Input starts a deal. The terms are the start JSON; Carry is set only by
// continue-as-new and holds everything the previous run knew.
type Input struct {
	deal.Terms
	// ContinueAfterEvents makes the run continue-as-new once its history has
	// this many events, on top of the server's own suggestion. Zero leaves it
	// to the server.
	ContinueAfterEvents int    `json:"continue_after_events,omitempty"`
	Carry               *Carry `json:"carry,omitempty"`
}

// minEventsPerRun keeps a low ContinueAfterEvents from making runs that
// continue-as-new before doing anything.
const minEventsPerRun = 60

// Carry is the state handed from one run to the next.
type Carry struct {
	Record       deal.Record     `json:"record"`
	Outbox       []Notification  `json:"outbox"`
	Snapshots    []deal.Snapshot `json:"snapshots"`
	SavedVersion int64           `json:"saved_version"`
	NoticeSeq    int64           `json:"notice_seq"`
	NextCheck    time.Time       `json:"next_check"`
}

// SignalRequest is the argument of the update: a signal name and payload.
type SignalRequest struct {
	Signal  string          `json:"signal"`
	Payload json.RawMessage `json:"payload"`
}

type dealWorkflow struct {
	Carry
	rec        *deal.Record
	in         Input
	checkEvery time.Duration
	published  string
}

// Notification is version 1's notice for people, as the Notify activity
// took it.
type Notification struct {
	Key        string       `json:"key"`
	DealID     string       `json:"deal_id"`
	Client     string       `json:"client"`
	Workstream string       `json:"workstream"`
	Channel    string       `json:"channel"`
	People     deal.People  `json:"people"`
	Notice     deal.Notice  `json:"notice"`
	Margin     *deal.Margin `json:"margin,omitempty"`
}

// Run is version 1 of DealWorkflow.
func Run(ctx workflow.Context, in Input) (*deal.Record, error) {
	w, err := newDealWorkflow(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := w.setupHandlers(ctx); err != nil {
		return nil, err
	}
	workflow.Go(ctx, w.persistLoop)
	workflow.Go(ctx, w.notifyLoop)
	return w.run(ctx)
}

func newDealWorkflow(ctx workflow.Context, in Input) (*dealWorkflow, error) {
	w := &dealWorkflow{in: in}
	if in.Carry != nil {
		w.Carry = *in.Carry
		w.rec = &w.Carry.Record
	} else {
		rec, eff, err := deal.Open(in.Terms, workflow.Now(ctx))
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadTerms", nil)
		}
		w.rec = rec
		w.absorb(eff)
	}
	every, err := w.rec.Terms.CheckEvery()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadTerms", nil)
	}
	w.checkEvery = every
	return w, nil
}

func (w *dealWorkflow) setupHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryRecord, func() (*deal.Record, error) { return w.rec, nil }); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateSignal,
		func(ctx workflow.Context, req SignalRequest) (deal.Result, error) {
			return w.handle(ctx, req.Signal, req.Payload), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(req SignalRequest) error {
			for _, n := range deal.SignalNames {
				if n == req.Signal {
					return nil
				}
			}
			return fmt.Errorf("unknown signal %q", req.Signal)
		}})
}

// handle applies one signal payload. It never returns an error and never
// panics on bad input: a refusal is recorded on the deal instead, so no
// payload can fail a workflow task and leave the deal stuck.
func (w *dealWorkflow) handle(ctx workflow.Context, signal string, payload []byte) deal.Result {
	var res deal.Result
	if len(payload) == 0 {
		// The SDK could not even read the payload as JSON.
		res = w.rec.Refuse(workflow.Now(ctx), signal, "payload is empty or not JSON", payload)
	} else {
		var eff deal.Effects
		res, eff = w.rec.Apply(workflow.Now(ctx), signal, payload)
		w.absorb(eff)
	}
	if res.Status == deal.Refused {
		workflow.GetLogger(ctx).Warn("signal refused", "signal", signal, "reason", res.Reason)
	}
	return res
}

// absorb queues what applying a signal asked of the outside world.
func (w *dealWorkflow) absorb(eff deal.Effects) {
	t := w.rec.Terms
	for _, n := range eff.Notices {
		w.NoticeSeq++
		m := w.rec.Margin
		w.Outbox = append(w.Outbox, Notification{Key: fmt.Sprintf("n%d", w.NoticeSeq), DealID: t.DealID,
			Client: t.Client, Workstream: t.Workstream, Channel: t.SlackChannel, People: t.People, Notice: n, Margin: &m})
	}
	w.Snapshots = append(w.Snapshots, eff.Snapshots...)
}

// listen starts one goroutine that takes every signal as it arrives. The
// payload is taken raw, so a payload that does not decode becomes a
// recorded refusal rather than a decoding error inside the SDK.
func (w *dealWorkflow) listen(ctx workflow.Context) {
	sel := workflow.NewSelector(ctx)
	for _, name := range deal.SignalNames {
		sel.AddReceive(workflow.GetSignalChannel(ctx, name), func(c workflow.ReceiveChannel, _ bool) {
			// ReceiveAsync, not Receive: the SDK drops a payload it cannot
			// read, and Receive would then wait for the next signal of this
			// name, holding up every other signal.
			var raw json.RawMessage
			c.ReceiveAsync(&raw)
			w.handle(ctx, name, raw)
		})
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel.Select(ctx)
		}
	})
}

// drainSignals takes the signals that arrived but were not yet handled, so
// none is lost when this run ends.
func (w *dealWorkflow) drainSignals(ctx workflow.Context) {
	for _, name := range deal.SignalNames {
		ch := workflow.GetSignalChannel(ctx, name)
		for {
			var raw json.RawMessage
			if !ch.ReceiveAsync(&raw) {
				break
			}
			w.handle(ctx, name, raw)
		}
	}
}

func (w *dealWorkflow) run(ctx workflow.Context) (*deal.Record, error) {
	w.listen(ctx)
	for !w.rec.Stage.IsFinal() {
		w.publish(ctx)
		// The upgrade patch: replaying a version-1 history finds no marker
		// and goes on as before; a live run continues as new at once, and
		// the current code takes the carry over.
		if workflow.GetVersion(ctx, UpgradeChangeID, workflow.DefaultVersion, 1) == 1 {
			w.drainSignals(ctx)
			w.Carry.Record = *w.rec
			next, carry := w.in, w.Carry
			next.Carry = &carry
			return nil, workflow.NewContinueAsNewError(ctx, workflowType, next)
		}
		if w.shouldContinueAsNew(ctx) {
			return nil, w.continueAsNew(ctx)
		}
		seen := w.rec.Version
		changed := func() bool { return w.rec.Version != seen || w.shouldContinueAsNew(ctx) }
		if w.rec.BaseStage == "" {
			if err := workflow.Await(ctx, changed); err != nil {
				return w.cancelled(ctx, err)
			}
			continue
		}
		now := workflow.Now(ctx)
		if w.NextCheck.IsZero() {
			w.NextCheck = now.Add(w.checkEvery)
		}
		if now.Before(w.NextCheck) {
			ok, err := workflow.AwaitWithTimeout(ctx, w.NextCheck.Sub(now), changed)
			if err != nil {
				return w.cancelled(ctx, err)
			}
			if ok {
				continue
			}
		}
		w.absorb(w.rec.CheckMargin(workflow.Now(ctx)))
		w.NextCheck = workflow.Now(ctx).Add(w.checkEvery)
	}
	w.publish(ctx)
	w.drainSignals(ctx)
	if err := workflow.Await(ctx, func() bool { return w.settled() && workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.cancelled(ctx, err)
	}
	return w.rec, nil
}

// cancelled ends a run someone cancelled (in the Temporal UI, say): the
// record is written as it stands, and the workflow ends as canceled. Closing
// a deal lost is the way to end it as a business decision.
func (w *dealWorkflow) cancelled(ctx workflow.Context, cause error) (*deal.Record, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 5 * time.Minute,
	})
	if w.SavedVersion != w.rec.Version {
		if err := workflow.ExecuteActivity(dctx, "SaveRecord", w.rec).Get(dctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("the last record was not saved after the cancel", "error", err)
		}
	}
	return nil, cause
}

// settled is true when PostgreSQL and Slack have caught up with the record.
func (w *dealWorkflow) settled() bool {
	return w.SavedVersion == w.rec.Version && len(w.Snapshots) == 0 && len(w.Outbox) == 0
}

func (w *dealWorkflow) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	if info.GetContinueAsNewSuggested() {
		return true
	}
	limit := w.in.ContinueAfterEvents
	if limit > 0 && limit < minEventsPerRun {
		limit = minEventsPerRun
	}
	return limit > 0 && info.GetCurrentHistoryLength() >= limit
}

// continueAsNew hands the whole state to a fresh run once handlers are done
// and waiting signals are taken. Writes still pending travel in the carry;
// a short wait lets most of them finish here first.
func (w *dealWorkflow) continueAsNew(ctx workflow.Context) error {
	if _, err := workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return w.settled() && workflow.AllHandlersFinished(ctx) }); err != nil {
		_, err = w.cancelled(ctx, err)
		return err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		_, err = w.cancelled(ctx, err)
		return err
	}
	w.drainSignals(ctx)
	w.Carry.Record = *w.rec
	next := w.in
	carry := w.Carry
	next.Carry = &carry
	return workflow.NewContinueAsNewError(ctx, workflowType, next)
}
