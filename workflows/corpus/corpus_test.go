package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// TestWriteNeverReplaces: a recorded history is written once; a second
// write to its path is refused and leaves the file as it was.
func TestWriteNeverReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.0", "deal-x.json")
	h := func() *historypb.History {
		return &historypb.History{Events: []*historypb.HistoryEvent{{EventId: 1, EventType: enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED}}}
	}
	if err := Write(path, h()); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	second := h()
	second.Events = append(second.Events, &historypb.HistoryEvent{EventId: 2, EventType: enums.EVENT_TYPE_TIMER_STARTED})
	if err := Write(path, second); !errors.Is(err, ErrExists) {
		t.Fatalf("second write: %v, want ErrExists", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Fatal("the refused write changed the file")
	}
	got, err := Load(path)
	if err != nil || len(got.Events) != 1 {
		t.Fatalf("read back %v, %v", got, err)
	}
}
