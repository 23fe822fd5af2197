package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
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
// time skipping: each step is scheduled a minute after the previous one,
// and the activities are replaced by recorders.
type protoRun struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	at      time.Duration
	results []deal.Result
	notices []activities.Notification
	saved   int64
}

func newProtoRun(t *testing.T) *protoRun {
	var suite testsuite.WorkflowTestSuite
	p := &protoRun{t: t, env: suite.NewTestWorkflowEnvironment()}
	p.env.SetStartTime(protoStart)
	p.env.RegisterWorkflow(DealWorkflow)
	p.env.RegisterActivity(&activities.Activities{})
	p.env.OnActivity(a.SaveRecord, mock.Anything, mock.Anything).Return(func(_ context.Context, r *deal.Record) error {
		p.saved = r.Version
		return nil
	})
	p.env.OnActivity(a.SaveSnapshots, mock.Anything, mock.Anything, mock.Anything).Return(nil)
	p.env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, n activities.Notification) error {
		p.notices = append(p.notices, n)
		return nil
	})
	return p
}

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

func (p *protoRun) record() *deal.Record {
	p.t.Helper()
	v, err := p.env.QueryWorkflow(QueryRecord)
	if err != nil {
		p.t.Fatal(err)
	}
	var r deal.Record
	if err := v.Get(&r); err != nil {
		p.t.Fatal(err)
	}
	return &r
}

// check runs assertions on the record at this point of the script.
func (p *protoRun) check(fn func(r *deal.Record)) { p.later(func() { fn(p.record()) }) }

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
	p.env.ExecuteWorkflow(DealWorkflow, Input{Terms: dealtest.Terms("d1", protoStart)})

	if err := p.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := repeat(deal.Accepted, len(p.results)); !reflect.DeepEqual(p.statuses(), want) {
		t.Fatalf("outcomes %+v", p.results)
	}
	var final deal.Record
	if err := p.env.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	want := []deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Maintenance, deal.ClosedWon}
	if got := stagesOf(&final); !reflect.DeepEqual(got, want) {
		t.Fatalf("stages %v, want %v", got, want)
	}
	if p.saved != final.Version {
		t.Errorf("the workflow completed before its last version (%d) was saved (%d)", final.Version, p.saved)
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
	p.env.ExecuteWorkflow(DealWorkflow, Input{Terms: dealtest.Terms("d1", protoStart)})

	if err := p.env.GetWorkflowError(); err != nil {
		t.Fatalf("bad payloads failed the workflow: %v", err)
	}
	var final deal.Record
	_ = p.env.GetWorkflowResult(&final)
	if final.Stage != deal.ClosedLost || !reflect.DeepEqual(p.statuses(), repeat(deal.Accepted, 3)) {
		t.Fatalf("stage %s, outcomes %+v", final.Stage, p.results)
	}
	var reasons []string
	for _, r := range final.Refusals {
		reasons = append(reasons, r.Signal+": "+r.Reason)
	}
	if len(reasons) != 3 || !strings.Contains(reasons[0], `unknown field "amount"`) || !strings.Contains(reasons[1], "payload does not decode") || !strings.Contains(reasons[2], "payload does not decode") {
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
	p.env.ExecuteWorkflow(DealWorkflow, Input{Terms: dealtest.Terms("d1", protoStart)})

	next := continuedInput(t, p.env)
	got := p.statuses()
	want := append(repeat(deal.Accepted, len(dealtest.ToClosing())+2), repeat(deal.Refused, 1+len(skip))...)
	if !reflect.DeepEqual(got[:len(want)], want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	carried := next.Carry.Record
	if carried.Stage != deal.Handover || carried.Handover.Status != "open" || !reflect.DeepEqual(carried.Handover.Checklist.CommitmentsAcknowledged, []string{"c1"}) {
		t.Fatalf("carried handover %+v at %s", carried.Handover, carried.Stage)
	}

	// The next run: the gate still holds, then opens on a complete checklist.
	q := newProtoRun(t)
	q.env.SetStartTime(protoStart.Add(p.at))
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
	p.env.ExecuteWorkflow(DealWorkflow, Input{Terms: dealtest.Terms("d1", protoStart)})
	next := continuedInput(t, p.env)
	var ids []string
	for _, c := range next.Carry.Record.Commitments {
		ids = append(ids, c.ID)
	}
	if !reflect.DeepEqual(ids, []string{"c1", "c2", "c3", "c4", "c5"}) {
		t.Fatalf("carried commitments %v", ids)
	}
	lastKey := next.Carry.NoticeSeq

	q := newProtoRun(t)
	q.env.SetStartTime(protoStart.Add(p.at))
	q.update(commitment("c3"), commitment("c7"), dealtest.ToClosing()[1])
	q.update(dealtest.Step{Signal: deal.SigClose, Payload: dealtest.JSON(map[string]string{"outcome": "lost", "by": dealtest.AE})})
	q.env.ExecuteWorkflow(DealWorkflow, next)
	if err := q.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if got := q.statuses(); !reflect.DeepEqual(got, []string{deal.Duplicate, deal.Accepted, deal.Accepted, deal.Accepted}) {
		t.Fatalf("outcomes after continue-as-new %+v", q.results)
	}
	var final deal.Record
	_ = q.env.GetWorkflowResult(&final)
	if len(final.Commitments) != 6 {
		t.Errorf("%d commitments, want 6", len(final.Commitments))
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
	p.env.ExecuteWorkflow(DealWorkflow, Input{Terms: dealtest.Terms("d1", protoStart), ContinueAfterEvents: 150})
	next := continuedInput(t, p.env)
	if next.ContinueAfterEvents != 150 || len(next.Carry.Record.Commitments) != 1 || next.Carry.Record.Stage != deal.Scoping {
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
	if next.Carry == nil {
		t.Fatal("continue-as-new carried no state")
	}
	return next
}

func TestCancelEndsTheRunAfterSavingTheRecord(t *testing.T) {
	p := newProtoRun(t)
	p.update(dealtest.ToClosing()[:2]...)
	p.later(func() { p.env.CancelWorkflow() })
	p.env.ExecuteWorkflow(DealWorkflow, Input{Terms: dealtest.Terms("d1", protoStart)})
	if err := p.env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Fatalf("a cancelled deal ended with %v, want canceled", err)
	}
	if r := p.record(); p.saved != r.Version || r.Stage != deal.Scoping {
		t.Fatalf("saved version %d of %d, stage %s", p.saved, r.Version, r.Stage)
	}
}
