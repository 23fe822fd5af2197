package workflows

import (
	"path/filepath"
	"slices"
	"testing"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"dealflow/deal"
	"dealflow/workflows/corpus"
)

// corpusDir is the replay corpus seen from this package's folder.
var corpusDir = filepath.Join("testdata", "corpus")

// TestReplay replays every DealWorkflow history of the corpus with
// today's code, and decodes every recorded activity input into today's
// activity types: a change that would break a running deal fails here.
// Record with `make corpus` (docs/upgrades.md); intake/replay_test.go
// replays the JobWorkflow histories.
func TestReplay(t *testing.T) {
	files, err := corpus.Files(corpusDir)
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories under %s (%v); record them with `make corpus`", corpusDir, err)
	}
	var seen []*historypb.History
	for _, f := range files {
		h, err := corpus.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		switch typ := corpus.WorkflowType(h); typ {
		case "JobWorkflow":
			continue // intake/replay_test.go
		case "DealWorkflow":
		default:
			t.Errorf("%s: workflow type %q has no replay test", f, typ)
			continue
		}
		seen = append(seen, h)
		t.Run(filepath.ToSlash(f[len(corpusDir)+1:]), func(t *testing.T) {
			r, err := corpus.NewReplayer()
			if err != nil {
				t.Fatal(err)
			}
			r.RegisterWorkflow(DealWorkflow)
			if err := r.ReplayWorkflowHistory(nil, h); err != nil {
				t.Fatal(err)
			}
			for _, err := range corpus.CheckActivityInputs(h, a) {
				t.Error(err)
			}
		})
	}
	t.Run("coverage", func(t *testing.T) { checkCoverage(t, seen) })
}

// checkCoverage fails when the corpus leaves out a way in: a signal name
// never sent as a plain signal or through the `signal` update, an update
// never run, or a kind of event the workflow must replay (a
// continue-as-new, a fired timer, an activity that succeeded on a retry).
func checkCoverage(t *testing.T, hs []*historypb.History) {
	var plain, viaUpdate, updates []string
	kinds := map[string]bool{}
	for _, h := range hs {
		m := corpus.Received(h)
		plain, viaUpdate, updates = append(plain, m.Signals...), append(viaUpdate, m.UpdateSignals...), append(updates, m.Updates...)
		for _, ev := range h.Events {
			switch ev.EventType {
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
				kinds["a continue-as-new"] = true
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				if ev.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId() != "" {
					kinds["a run started with a carry"] = true
				}
			case enums.EVENT_TYPE_TIMER_FIRED:
				kinds["a fired timer"] = true
			case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				if ev.GetActivityTaskStartedEventAttributes().GetAttempt() > 1 {
					kinds["an activity retried"] = true
				}
			}
		}
	}
	for _, n := range deal.SignalNames {
		if !slices.Contains(plain, n) {
			t.Errorf("signal %q is in no history as a plain signal", n)
		}
		if !slices.Contains(viaUpdate, n) {
			t.Errorf("signal %q is in no history through the %q update", n, UpdateSignal)
		}
	}
	if !slices.ContainsFunc(plain, func(n string) bool { return !slices.Contains(deal.SignalNames, n) }) {
		t.Errorf("no history holds a signal of an unknown name")
	}
	for _, u := range []string{UpdateSignal, UpdateInvoices} {
		if !slices.Contains(updates, u) {
			t.Errorf("update %q is in no history", u)
		}
	}
	for _, k := range []string{"a continue-as-new", "a run started with a carry", "a fired timer", "an activity retried"} {
		if !kinds[k] {
			t.Errorf("no history holds %s", k)
		}
	}
}
