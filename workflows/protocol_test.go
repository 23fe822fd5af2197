package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

var protoStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// protoRun drives one DealWorkflow run in the SDK's test environment, with
// time skipping: each step is scheduled a minute after the previous one.
// The activities are the real ones, on the package's PostgreSQL database;
// only Slack is replaced, by a recorder of the notices.
type protoRun struct {
	t       *testing.T
	id      string
	env     *testsuite.TestWorkflowEnvironment
	at      time.Duration
	results []deal.Result
	mu      sync.Mutex
	notices []activities.Notification
}

func newProtoRun(t *testing.T) *protoRun {
	return newProtoRunFor(t, newDealID())
}

// newProtoRunFor is a run of deal id, for a run that continues another.
func newProtoRunFor(t *testing.T, id string) *protoRun {
	var suite testsuite.WorkflowTestSuite
	p := &protoRun{t: t, id: id, env: suite.NewTestWorkflowEnvironment()}
	p.env.SetStartTime(protoStart)
	p.env.RegisterWorkflow(DealWorkflow)
	p.env.RegisterActivity(&activities.Activities{Store: store, Notifier: notifierFunc(func(n activities.Notification) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.notices = append(p.notices, n)
	})})
	return p
}

// notifierFunc stands in for Slack: it keeps what would be posted.
type notifierFunc func(activities.Notification)

func (f notifierFunc) Notify(_ context.Context, n activities.Notification) error {
	f(n)
	return nil
}

// input is the start input of this run's deal.
func (p *protoRun) input() Input { return Input{Terms: dealtest.Terms(p.id, protoStart)} }

// run starts the deal and runs it until it ends or continues as new.
func (p *protoRun) run() { p.env.ExecuteWorkflow(DealWorkflow, p.input()) }

// later runs fn a minute after the previous scheduled step.
func (p *protoRun) later(fn func()) {
	p.at += time.Minute
	p.env.RegisterDelayedCallback(fn, p.at)
}

// update sends steps through the update, keeping each outcome in order.
func (p *protoRun) update(steps ...dealtest.Step) {
	for _, st := range steps {
		i := len(p.results)
		p.results = append(p.results, deal.Result{Status: "never answered"})
		p.later(func() {
			p.env.UpdateWorkflow(UpdateSignal, fmt.Sprintf("u%d", i), &testsuite.TestUpdateCallback{
				OnReject:   func(err error) { p.results[i] = deal.Result{Status: "rejected", Reason: err.Error()} },
				OnComplete: func(v any, err error) { p.results[i] = v.(deal.Result) },
			}, SignalRequest{Signal: st.Signal, Payload: st.Payload})
		})
	}
}

// status is the workflow's answer to the record query.
func (p *protoRun) status() Status {
	p.t.Helper()
	v, err := p.env.QueryWorkflow(QueryRecord)
	if err != nil {
		p.t.Fatal(err)
	}
	var st Status
	if err := v.Get(&st); err != nil {
		p.t.Fatal(err)
	}
	return st
}

// record is the deal as PostgreSQL holds it.
func (p *protoRun) record() *deal.Record {
	p.t.Helper()
	r, err := store.LoadRecord(context.Background(), p.id)
	if err != nil {
		p.t.Fatal(err)
	}
	return r
}

// check runs assertions on the deal at this point of the script: the
// workflow's state, and the record in PostgreSQL, which has caught up by
// then (the test environment finishes running activities before it moves
// the clock on).
func (p *protoRun) check(fn func(st Status, r *deal.Record)) {
	p.later(func() { fn(p.status(), p.record()) })
}

func (p *protoRun) statuses() []string {
	var out []string
	for _, r := range p.results {
		out = append(out, r.Status)
	}
	return out
}

func stagesOf(r *deal.Record) []deal.Stage {
	var s []deal.Stage
	for _, h := range r.History {
		s = append(s, h.To)
	}
	return s
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestProtocolFromDiscoveryToClosedWon(t *testing.T) {
	p := newProtoRun(t)
	p.update(dealtest.ToDelivery()...)
	p.update(dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "maintenance", "by": dealtest.PM})},
		dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "closed_won", "by": dealtest.GM})})
	p.run()

	if err := p.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := repeat(deal.Accepted, len(p.results)); !reflect.DeepEqual(p.statuses(), want) {
		t.Fatalf("outcomes %+v", p.results)
	}
	var out Outcome
	if err := p.env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	final := p.record()
	want := []deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Maintenance, deal.ClosedWon}
	if got := stagesOf(final); !reflect.DeepEqual(got, want) || out.Stage != deal.ClosedWon {
		t.Fatalf("stages %v (outcome %s), want %v", got, out.Stage, want)
	}
	var opened []string
	for _, n := range p.notices {
		if n.Notice.Kind == deal.NoticeTicketOpened {
			opened = append(opened, n.Notice.Ticket.ID)
		}
	}
	if !reflect.DeepEqual(opened, []string{"discovery", "scoping", "proposal", "pricing"}) {
		t.Errorf("ticket notices %v", opened)
	}
	if final.MarginChecks == 0 {
		t.Error("closing won took no final margin snapshot")
	}
	// The notices read the ticket's sign-offs from PostgreSQL: the last
	// sign-off notice of scoping shows both approvals.
	for _, n := range p.notices {
		if n.Notice.Kind == deal.NoticeSignoff && n.Notice.Ticket.ID == "scoping" && n.Notice.Signoff.Side == "client" {
			if got := len(n.Notice.Ticket.Signoffs); got != 2 || n.Notice.Ticket.Deliverable == nil {
				t.Errorf("the client sign-off notice shows %d sign-offs, deliverable %v", got, n.Notice.Ticket.Deliverable)
			}
		}
	}
}

func TestBadPayloadsAreRecordedAndTheDealGoesOn(t *testing.T) {
	p := newProtoRun(t)
	p.later(func() {
		// As the temporal CLI would send them: a malformed decimal, a bare
		// number, and bytes that are not JSON at all.
		p.env.SignalWorkflow(deal.SigCommitment, json.RawMessage(`{"id":"c1","kind":"discount","text":"x","value":"12.x","by":"U_AE","amount":"12.x"}`))
		p.env.SignalWorkflow(deal.SigSignoff, 42)
		p.env.SignalWorkflow(deal.SigSignoff, []byte("not json"))
	})
	p.update(dealtest.ToClosing()[:2]...)
	p.update(dealtest.Step{Signal: deal.SigClose, Payload: dealtest.JSON(map[string]string{"outcome": "lost", "by": dealtest.AE})})
	p.run()

	if err := p.env.GetWorkflowError(); err != nil {
		t.Fatalf("bad payloads failed the workflow: %v", err)
	}
	final := p.record()
	if final.Stage != deal.ClosedLost || !reflect.DeepEqual(p.statuses(), repeat(deal.Accepted, 3)) {
		t.Fatalf("stage %s, outcomes %+v", final.Stage, p.results)
	}
	var reasons []string
	for _, r := range final.Refusals {
		reasons = append(reasons, r.Signal+": "+r.Reason)
	}
	if len(reasons) != 3 || !strings.Contains(reasons[0], `has no field "amount"`) || !strings.Contains(reasons[1], "must be one JSON object") || !strings.Contains(reasons[2], "must be one JSON object") {
		t.Fatalf("refusals %q", reasons)
	}
}

func TestHandoverGateHoldsAcrossContinueAsNew(t *testing.T) {
	draft := dealtest.Step{Signal: deal.SigHandover, Payload: dealtest.JSON(map[string]any{"by": dealtest.PM, "signed_off": false,
		"checklist": map[string]any{"deliverables_reviewed": true, "commitments_acknowledged": []string{"c1"}}})}
	incomplete := dealtest.Step{Signal: deal.SigHandover, Payload: dealtest.JSON(map[string]any{"by": dealtest.PM, "signed_off": true,
		"checklist": map[string]any{"deliverables_reviewed": true, "commitments_acknowledged": []string{"c1", "c2"}, "resources_confirmed": true}})}
	skip := []dealtest.Step{
		{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "closed_won", "by": dealtest.GM})},
		{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "maintenance", "by": dealtest.PM})},
		dealtest.Progress("10"),
		{Signal: deal.SigHandover, Payload: dealtest.JSON(map[string]any{"by": dealtest.AE, "signed_off": true})},
	}
	p := newProtoRun(t)
	p.update(append(dealtest.ToClosing(), dealtest.Won(), draft, incomplete)...)
	p.update(skip...)
	p.later(func() { p.env.SetContinueAsNewSuggested(true) })
	p.update(dealtest.Step{Signal: deal.SigCommitment, Payload: dealtest.JSON(map[string]string{"id": "c9", "kind": "date", "text": "late promise", "by": dealtest.AE})})
	p.run()

	next := continuedInput(t, p.env)
	got := p.statuses()
	want := append(repeat(deal.Accepted, len(dealtest.ToClosing())+2), repeat(deal.Refused, 1+len(skip))...)
	if !reflect.DeepEqual(got[:len(want)], want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	carried := next.State.Deal
	if carried.Stage != deal.Handover || carried.Handover.Status != "open" || carried.Handover.ChecklistSum == "" {
		t.Fatalf("carried handover %+v at %s", carried.Handover, carried.Stage)
	}
	if ho := p.record().Handover; ho == nil || !reflect.DeepEqual(ho.Checklist.CommitmentsAcknowledged, []string{"c1"}) {
		t.Fatalf("the draft checklist in PostgreSQL: %+v", ho)
	}

	// The next run: the gate still holds, then opens on a complete checklist.
	q := newProtoRunFor(t, p.id)
	q.env.SetStartTime(protoStart.Add(p.at))
	q.env.SetContinuedExecutionRunID("run-1")
	q.update(skip[0], dealtest.Handover(), skip[0])
	q.env.ExecuteWorkflow(DealWorkflow, next)
	if err := q.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if got := q.statuses(); !reflect.DeepEqual(got, []string{deal.Refused, deal.Accepted, deal.Accepted}) {
		t.Fatalf("second run outcomes %+v", q.results)
	}
}

func TestContinueAsNewDrainsSignalsAndKeepsIdempotency(t *testing.T) {
	commitment := func(id string) dealtest.Step {
		return dealtest.Step{Signal: deal.SigCommitment, Payload: dealtest.JSON(map[string]string{"id": id, "kind": "deliverable", "text": "promise " + id, "by": dealtest.AE})}
	}
	p := newProtoRun(t)
	p.update(commitment("c1"))
	p.later(func() {
		for _, id := range []string{"c2", "c3", "c4", "c5"} {
			p.env.SignalWorkflow(deal.SigCommitment, json.RawMessage(commitment(id).Payload))
		}
	})
	// In the test environment the suggestion takes effect in a workflow task
	// of its own; on a real server signals that land in the same task are
	// drained first (see server/continue_test.go).
	p.later(func() { p.env.SetContinueAsNewSuggested(true) })
	p.run()
	next := continuedInput(t, p.env)
	var ids []string
	for _, c := range next.State.Deal.Commitments {
		ids = append(ids, c.ID)
	}
	if !reflect.DeepEqual(ids, []string{"c1", "c2", "c3", "c4", "c5"}) {
		t.Fatalf("carried commitments %v", ids)
	}
	lastKey := next.State.NoticeSeq

	q := newProtoRunFor(t, p.id)
	q.env.SetStartTime(protoStart.Add(p.at))
	q.env.SetContinuedExecutionRunID("run-1")
	q.update(commitment("c3"), commitment("c7"), dealtest.ToClosing()[1])
	q.update(dealtest.Step{Signal: deal.SigClose, Payload: dealtest.JSON(map[string]string{"outcome": "lost", "by": dealtest.AE})})
	q.env.ExecuteWorkflow(DealWorkflow, next)
	if err := q.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if got := q.statuses(); !reflect.DeepEqual(got, []string{deal.Duplicate, deal.Accepted, deal.Accepted, deal.Accepted}) {
		t.Fatalf("outcomes after continue-as-new %+v", q.results)
	}
	if n := len(q.record().Commitments); n != 6 {
		t.Errorf("%d commitments in PostgreSQL, want 6", n)
	}
	for _, n := range q.notices {
		var seq int64
		fmt.Sscanf(n.Key, "n%d", &seq)
		if seq <= lastKey {
			t.Errorf("notice key %s reused after continue-as-new (last was n%d)", n.Key, lastKey)
		}
	}
}

func TestContinueAfterEventsLimit(t *testing.T) {
	p := newProtoRun(t)
	p.update(dealtest.ToClosing()[0])
	p.later(func() { p.env.SetCurrentHistoryLength(149) })
	p.update(dealtest.ToClosing()[1])
	p.later(func() { p.env.SetCurrentHistoryLength(150) })
	in := p.input()
	in.ContinueAfterEvents = 150
	p.env.ExecuteWorkflow(DealWorkflow, in)
	next := continuedInput(t, p.env)
	if next.ContinueAfterEvents != 150 || len(next.State.Deal.Commitments) != 1 || next.State.Deal.Stage != deal.Scoping {
		t.Fatalf("next input %+v", next)
	}
}

// continuedInput is the input the run handed to its successor.
func continuedInput(t *testing.T, env *testsuite.TestWorkflowEnvironment) Input {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("the run did not continue as new: %v", err)
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil {
		t.Fatal("continue-as-new carried no state")
	}
	return next
}

func TestCancelEndsTheRunAfterSavingTheRecord(t *testing.T) {
	p := newProtoRun(t)
	p.update(dealtest.ToClosing()[:2]...)
	var version int64
	p.later(func() {
		version = p.status().Deal.Version
		p.env.CancelWorkflow()
	})
	p.run()
	if err := p.env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Fatalf("a cancelled deal ended with %v, want canceled", err)
	}
	if r := p.record(); r.Version != version || r.Stage != deal.Scoping {
		t.Fatalf("saved version %d of %d, stage %s", r.Version, version, r.Stage)
	}
}

// A start input may not carry a previous run's state: only a real
// continue-as-new hands state over.
func TestForgedCarryIsRefused(t *testing.T) {
	p := newProtoRun(t)
	in := p.input()
	st, _, err := deal.Open(in.Terms, protoStart)
	if err != nil {
		t.Fatal(err)
	}
	st.Stage, st.BaseStage = deal.InProgress, deal.InProgress
	in.State = &Carry{Deal: *st}
	p.env.ExecuteWorkflow(DealWorkflow, in)
	if err := p.env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "a deal starts from its terms only") {
		t.Fatalf("a forged carry started the deal: %v", err)
	}
	if _, err := store.LoadRecord(context.Background(), p.id); err == nil {
		t.Fatal("a forged carry wrote the deal")
	}
}

// A plain signal of a name the deal does not know leaves a refusal with
// its name and payload, and the deal goes on.
func TestUnknownSignalLeavesARefusal(t *testing.T) {
	p := newProtoRun(t)
	p.later(func() { p.env.SignalWorkflow("Invoice", json.RawMessage(`{"invoice_id":"INV-9","amount":"10"}`)) })
	p.update(dealtest.ToClosing()[:1]...)
	p.update(dealtest.Step{Signal: deal.SigClose, Payload: dealtest.JSON(map[string]string{"outcome": "lost", "by": dealtest.AE})})
	p.run()
	if err := p.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	r := p.record()
	if len(r.Refusals) != 1 || r.Refusals[0].Signal != "Invoice" || !strings.Contains(r.Refusals[0].Reason, `unknown signal "Invoice"`) ||
		!strings.Contains(r.Refusals[0].Payload, "INV-9") {
		t.Fatalf("refusals %+v", r.Refusals)
	}
	if r.Stage != deal.ClosedLost {
		t.Fatalf("stage %s", r.Stage)
	}
}

// The start input is checked as it was sent: a misspelt field, a repeated
// key or a JSON number for money fails the start with the reason, before
// anything is written, instead of opening a deal with a 0 % target.
func TestStartInputIsCheckedAsSent(t *testing.T) {
	good, _ := json.Marshal(Input{Terms: dealtest.Terms("x", protoStart)})
	cases := []struct{ name, from, to, want string }{
		{"a misspelt field", `"target_margin_pct"`, `"target_margin"`, `terms has no field "target_margin"`},
		{"a repeated key", `"target_margin_pct":"30"`, `"target_margin_pct":"30","target_margin_pct":"0"`, `holds the field "target_margin_pct" twice`},
		{"a JSON number for money", `"contract_value":"100000"`, `"contract_value":100000`, "contract_value must be a decimal string"},
		{"a value that does not decode", `"slack_channel":"C_DEALS"`, `"slack_channel":"C_DEALS","late_cost_days":true`, "late_cost_days must be a whole number of days"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProtoRun(t)
			body := strings.Replace(strings.Replace(string(good), `"deal_id":"x"`, `"deal_id":"`+p.id+`"`, 1), c.from, c.to, 1)
			if body == string(good) || !strings.Contains(body, c.to) {
				t.Fatalf("the case does not apply to %s", good)
			}
			p.env.ExecuteWorkflow("DealWorkflow", json.RawMessage(body))
			if err := p.env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("start: %v, want %q", err, c.want)
			}
			if _, err := store.LoadRecord(context.Background(), p.id); err == nil {
				t.Fatal("a refused start input wrote the deal")
			}
		})
	}
}
