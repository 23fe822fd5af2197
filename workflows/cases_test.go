package workflows

import (
	"reflect"
	"strings"
	"testing"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// The rule tables of deal/dealtest, run through DealWorkflow in the SDK's
// test environment: each case is a deal of its own, driven by updates.

// endsDeal is true when the steps close the deal, which completes its
// workflow: nothing can be sent to it after that.
func endsDeal(t *testing.T, steps []dealtest.Step) bool {
	d, err := dealtest.Open(dealtest.Terms("probe", protoStart), protoStart)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		d.Send(protoStart, s.Signal, s.Payload)
	}
	return d.State.Stage.IsFinal()
}

// snapshot is the deal as the workflow holds it and as PostgreSQL does.
type snapshot struct {
	st Status
	r  *deal.Record
}

// runCase sends a case's setup steps and its step through the update, and
// keeps the deal just before and just after the step.
func runCase(t *testing.T, c dealtest.Case) (p *protoRun, before, after snapshot) {
	p = newProtoRun(t)
	p.update(c.Setup...)
	p.check(func(st Status, r *deal.Record) { before = snapshot{st, r} })
	p.update(c.Step)
	p.check(func(st Status, r *deal.Record) { after = snapshot{st, r} })
	p.later(p.env.CancelWorkflow)
	p.run()
	return p, before, after
}

func TestWorkflowRefusesWhatTheRulesRefuse(t *testing.T) {
	for _, c := range dealtest.RefusalCases() {
		t.Run(c.Name, func(t *testing.T) {
			p, before, after := runCase(t, c)

			setup, last := p.results[:len(c.Setup)], p.results[len(c.Setup)]
			if want := repeat(deal.Accepted, len(c.Setup)); !reflect.DeepEqual(p.statuses()[:len(c.Setup)], want) {
				t.Fatalf("setup outcomes %+v", setup)
			}
			if c.Step.Signal != "approve" {
				if last.Status != deal.Refused || !strings.Contains(last.Reason, c.Reason) {
					t.Fatalf("got %+v, want refused with %q", last, c.Reason)
				}
				if dealtest.WithoutRefusals(before.r) != dealtest.WithoutRefusals(after.r) || len(after.r.Refusals) != len(before.r.Refusals)+1 {
					t.Fatalf("the refusal changed more than the refusals")
				}
				if dealtest.StateWithoutRefusals(&before.st.Deal) != dealtest.StateWithoutRefusals(&after.st.Deal) || after.st.Deal.Refusals != before.st.Deal.Refusals+1 {
					t.Fatalf("the refusal changed the state")
				}
				return
			}
			// An update for a signal that does not exist is turned away by
			// the update's validator, before it reaches the deal.
			if last.Status != "rejected" || !strings.Contains(last.Reason, c.Reason) || after.st.Deal.Version != before.st.Deal.Version {
				t.Fatalf("got %+v", last)
			}
		})
	}
}

func TestWorkflowTakesRepeatsAsDuplicates(t *testing.T) {
	for _, c := range dealtest.DuplicateCases() {
		t.Run(c.Name, func(t *testing.T) {
			p, before, after := runCase(t, c)
			want := append(repeat(deal.Accepted, len(c.Setup)), deal.Duplicate)
			if !reflect.DeepEqual(p.statuses(), want) {
				t.Fatalf("outcomes %+v", p.results)
			}
			if !reflect.DeepEqual(before, after) {
				t.Fatal("a duplicate changed the deal")
			}
		})
	}
}

func TestWorkflowStageTransitions(t *testing.T) {
	for _, c := range dealtest.TransitionCases() {
		t.Run(c.Name, func(t *testing.T) {
			p := newProtoRun(t)
			p.update(c.Steps...)
			if !endsDeal(t, c.Steps) {
				p.later(p.env.CancelWorkflow)
			}
			p.run()
			rec := p.record()
			if !reflect.DeepEqual(p.statuses(), repeat(deal.Accepted, len(c.Steps))) {
				t.Fatalf("outcomes %+v", p.results)
			}
			if got := stagesOf(rec); !reflect.DeepEqual(got, c.Want) {
				t.Fatalf("stages %v, want %v", got, c.Want)
			}
		})
	}
}
