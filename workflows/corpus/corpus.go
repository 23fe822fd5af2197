// Package corpus reads and writes the replay corpus: workflow histories
// recorded from the real worker (devstack/recordhistory) that today's
// workflow code must still replay. Every history is a JSON file under Dir,
// one workflow run per file; docs/upgrades.md says how the corpus grows.
package corpus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
)

// Dir is the corpus, relative to the module root. A release's histories
// live in a folder of their own under it (v1.0/, v1.1/, ...).
const Dir = "workflows/testdata/corpus"

// Files lists every history under root (the corpus folder), in a fixed
// order: each *.json file at any depth.
func Files(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Ext(p) == ".json" {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// Load reads one recorded history.
func Load(path string) (*historypb.History, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	h := &historypb.History{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, h); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(h.Events) == 0 {
		return nil, fmt.Errorf("%s: no events", path)
	}
	return h, nil
}

// ErrExists is Write's refusal to replace a recorded history.
var ErrExists = errors.New("already recorded; the corpus is append-only: record into a fresh folder (-out) or name a new scenario")

// Write stores a history at path, which must not exist yet: a recorded
// history is never replaced, so it keeps proving that deals started by the
// code that recorded it still replay.
func Write(path string, h *historypb.History) error {
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", path, ErrExists)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WorkflowType is the type of the workflow the history ran.
func WorkflowType(h *historypb.History) string {
	return h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
}

// Messages is what a history received from outside: the names of its
// plain signals, of its updates, and the signal names carried inside
// updates whose argument has a "signal" field (DealWorkflow's `signal`
// update). Each list is sorted and without repeats.
type Messages struct {
	Signals, Updates, UpdateSignals []string
}

// Received lists the messages of a history.
func Received(h *historypb.History) Messages {
	var m Messages
	for _, ev := range h.Events {
		switch ev.EventType {
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			m.Signals = append(m.Signals, ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName())
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			in := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput()
			m.Updates = append(m.Updates, in.GetName())
			for _, p := range in.GetArgs().GetPayloads() {
				var arg struct {
					Signal string `json:"signal"`
				}
				if json.Unmarshal(p.GetData(), &arg) == nil && arg.Signal != "" {
					m.UpdateSignals = append(m.UpdateSignals, arg.Signal)
				}
			}
		}
	}
	for _, l := range []*[]string{&m.Signals, &m.Updates, &m.UpdateSignals} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return m
}

// NewReplayer is the replayer the replay tests use. Deadlock detection is
// off: it is a wall-clock check (a workflow task that runs over a second),
// and on a loaded CI machine replaying a 500-invoice batch can pass that;
// the replay tests ask about determinism, not speed.
func NewReplayer() (worker.WorkflowReplayer, error) {
	return worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DisableDeadlockDetection: true})
}
