package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dealflow/deal/dealtest"
	"dealflow/metrics"
	"dealflow/workflows"
)

// newerDealWorkflow stands for a newer worker's DealWorkflow: it starts
// with a timer that today's code does not have, as a GetVersion branch or
// any new command would.
func newerDealWorkflow(ctx workflow.Context, _ json.RawMessage) error {
	return workflow.Sleep(ctx, time.Hour)
}

// TestFailingWorkflowTaskShowsInHealth runs the deploy order the docs warn
// about: a deal's history was written by a newer worker, and an older one
// (today's server) takes its next workflow task. The task fails
// (TMPRL1100) and /healthz says so; once the newer worker polls again,
// the retried task completes.
func TestFailingWorkflowTaskShowsInHealth(t *testing.T) {
	ctx := context.Background()
	c, err := client.Dial(client.Options{HostPort: temporalHostPort})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "deals-newer-" + strings.ReplaceAll(t.Name(), "/", "-")
	newer := func() worker.Worker {
		w := worker.New(c, queue, worker.Options{})
		w.RegisterWorkflowWithOptions(newerDealWorkflow, workflow.RegisterOptions{Name: "DealWorkflow"})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return w
	}
	id := "newer-" + time.Now().Format("150405.000")
	w := newer()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(id), TaskQueue: queue},
		"DealWorkflow", workflows.Input{Terms: dealtest.Terms(id, time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.TerminateWorkflow(ctx, run.GetID(), "", "test over") })
	waitForEvent(t, c, run, enums.EVENT_TYPE_TIMER_STARTED, 1)
	w.Stop()

	s := startServer(t, func(cfg *Config) { cfg.TaskQueue, cfg.MetricsAddr = queue, "127.0.0.1:0" })
	if code, body := health(t, s); code != http.StatusOK {
		t.Fatalf("/readyz before any failure: %d %s", code, body)
	}
	// A signal makes a new workflow task, which the older code fails.
	if err := c.SignalWorkflow(ctx, run.GetID(), "", "progress", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	dealtest.Eventually(t, "/readyz (the detailed check on METRICS_ADDR) to report the failing workflow task", func() bool {
		code, body := health(t, s)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "workflow task(s) failed") &&
			strings.Contains(body, "DealWorkflow NonDeterminismError")
	})
	_, body := health(t, s)
	t.Logf("/readyz: %s", body)
	// The counter the dashboard and the alert rule watch is on /metrics.
	resp, err := http.Get("http://" + s.OpsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^` + metrics.WorkflowTaskFailed + `_total\{[^}]*failure_reason="NonDeterminismError"[^}]*\} [1-9]`).Match(scrape) {
		t.Errorf("/metrics lacks %s_total for the failed task", metrics.WorkflowTaskFailed)
	}

	// Roll forward: the newer worker takes the retried task and completes it.
	s.Stop()
	w = newer()
	defer w.Stop()
	waitForEvent(t, c, run, enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 2)
}

func health(t *testing.T, s *Server) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.OpsAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitForEvent waits until the run's history holds n events of type typ.
func waitForEvent(t *testing.T, c client.Client, run client.WorkflowRun, typ enums.EventType, n int) {
	t.Helper()
	ctx := context.Background()
	dealtest.Eventually(t, "event "+typ.String(), func() bool {
		seen := 0
		it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return false
			}
			if ev.EventType == typ {
				seen++
			}
		}
		return seen >= n
	})
}
