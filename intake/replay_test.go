package intake

import (
	"path/filepath"
	"testing"

	"dealflow/workflows/corpus"
)

// TestReplay replays every JobWorkflow history of the corpus with today's
// code (workflows/replay_test.go replays the deals).
func TestReplay(t *testing.T) {
	dir := filepath.Join("..", corpus.Dir)
	files, err := corpus.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		h, err := corpus.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if corpus.WorkflowType(h) != "JobWorkflow" {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := corpus.NewReplayer()
			if err != nil {
				t.Fatal(err)
			}
			r.RegisterWorkflow(JobWorkflow)
			if err := r.ReplayWorkflowHistory(nil, h); err != nil {
				t.Fatal(err)
			}
			for _, err := range corpus.CheckActivityInputs(h, &JobActivities{}) {
				t.Error(err)
			}
		})
	}
	if n == 0 {
		t.Fatalf("no JobWorkflow history under %s; record one with `make corpus`", dir)
	}
}
