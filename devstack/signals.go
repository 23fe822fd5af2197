package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// noop takes signals and does nothing with them: Temporal's own cost of a
// signal, to compare dealflow's intake with.
func noop(ctx workflow.Context) error {
	ch := workflow.GetSignalChannel(ctx, "invoice")
	for {
		var v any
		ch.Receive(ctx, &v)
	}
}

// RawSignalRate sends n invoice-sized signals over k no-op workflows on
// taskQueue, eight senders at a time, with the workers' part in this
// process, and answers the signals per second: the ceiling of the Temporal
// server c talks to (`make bench`, `make scale`).
func RawSignalRate(ctx context.Context, c client.Client, taskQueue string, k, n int) (float64, error) {
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(noop)
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()
	for i := 0; i < k; i++ {
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%d", taskQueue, i), TaskQueue: taskQueue}, noop); err != nil {
			return 0, err
		}
	}
	payload := json.RawMessage(`{"invoice_id":"X","category":"travel","amount":"12.34","currency":"EUR","date":"2026-12-01"}`)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				if err := c.SignalWorkflow(ctx, fmt.Sprintf("%s-%d", taskQueue, i%k), "", "invoice", payload); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return float64(n) / time.Since(start).Seconds(), <-errs
}
