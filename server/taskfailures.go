package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"dealflow/metrics"
)

// taskFailureWindow is how far back the health check looks; a task that
// keeps failing is retried (and counted) well within it.
const taskFailureWindow = 10 * time.Minute

// taskFailures remembers the workflow task failures the SDK counts through
// the worker's metrics handler (metrics.WorkflowTaskFailed), within the
// window: a panic in workflow code, or a history the code does not replay
// (TMPRL1100, e.g. an older worker meeting a newer version marker).
// Temporal retries such a task forever and the deal stands still, so the
// detailed health check reports recent ones.
type taskFailures struct {
	mu     sync.Mutex
	recent []taskFailure // oldest first
}

type taskFailure struct {
	at                   time.Time
	workflowType, reason string
}

// maxRemembered bounds the memory of a worker whose every task fails.
const maxRemembered = 10000

func (f *taskFailures) add(workflowType, reason string, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.recent = append(f.recent, taskFailure{at: time.Now(), workflowType: workflowType, reason: reason})
	}
	if over := len(f.recent) - maxRemembered; over > 0 {
		f.recent = slices.Delete(f.recent, 0, over)
	}
}

// Recent counts the workflow task failures within the window and names
// them by workflow type and reason ("DealWorkflow NonDeterminismError x3"),
// or returns 0 and "".
func (f *taskFailures) Recent(now time.Time) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := 0
	for i < len(f.recent) && now.Sub(f.recent[i].at) > taskFailureWindow {
		i++
	}
	f.recent = f.recent[i:]
	counts := map[string]int{}
	for _, r := range f.recent {
		counts[r.workflowType+" "+r.reason]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s x%d", k, counts[k]))
	}
	return len(f.recent), strings.Join(parts, ", ")
}

// watch wraps the worker's metrics handler: every metric goes on to next,
// and the workflow task failure counter is also remembered here.
func (f *taskFailures) watch(next client.MetricsHandler) client.MetricsHandler {
	return failureWatch{next: next, f: f}
}

type failureWatch struct {
	next client.MetricsHandler
	f    *taskFailures
	tags map[string]string
}

func (w failureWatch) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(w.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return failureWatch{next: w.next.WithTags(tags), f: w.f, tags: merged}
}

func (w failureWatch) Counter(name string) client.MetricsCounter {
	c := w.next.Counter(name)
	if name != metrics.WorkflowTaskFailed {
		return c
	}
	return failureCounter{next: c, w: w}
}

func (w failureWatch) Gauge(name string) client.MetricsGauge { return w.next.Gauge(name) }
func (w failureWatch) Timer(name string) client.MetricsTimer { return w.next.Timer(name) }

type failureCounter struct {
	next client.MetricsCounter
	w    failureWatch
}

func (c failureCounter) Inc(n int64) {
	c.next.Inc(n)
	c.w.f.add(c.w.tags["workflow_type"], c.w.tags["failure_reason"], n)
}
