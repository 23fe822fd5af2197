package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dealflow/devstack/prodstack"
)

// runScale measures, in one run on one stack: the same load (deals walked
// by clicks, then invoices as fast as intake takes them) on one worker
// process and then on two, and the raw signal ceiling of the same server;
// each with the CPU-seconds of every component.
func runScale(ctx context.Context, o options) error {
	s, err := setup(ctx, o, "scale")
	if err != nil {
		return err
	}
	defer s.close()
	deals, invoices := min(o.deals, 20), min(o.invoices, 5000)
	type phase struct {
		name      string
		wall      time.Duration
		cpu       cpuUse
		deals     int
		invoices  int
		signals   int
		perSecond float64
	}
	var phases []phase
	measure := func(name string, f func() (int, int, int, error)) error {
		c0, t0 := s.cpu(), time.Now()
		d, inv, sig, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		p := phase{name: name, wall: time.Since(t0), cpu: s.cpu().minus(c0), deals: d, invoices: inv, signals: sig}
		switch {
		case inv > 0:
			p.perSecond = float64(inv) / p.wall.Seconds()
		case sig > 0:
			p.perSecond = float64(sig) / p.wall.Seconds()
		default:
			p.perSecond = float64(d) / p.wall.Seconds()
		}
		phases = append(phases, p)
		s.logf("%s: %v", name, p.wall.Round(100*time.Millisecond))
		return nil
	}
	for _, workers := range []int{1, 2} {
		prefix := fmt.Sprintf("w%d", workers)
		if workers == 1 {
			s.stack.Workers[1].Pause()
			s.http = newFront(s.stack.HTTP[:1])
		} else {
			if err := s.stack.Workers[1].Resume(); err != nil {
				return err
			}
			if err := prodstack.WaitHealthy(ctx, s.stack.HTTP[1], 2*time.Minute); err != nil {
				return err
			}
			s.http = newFront(s.stack.HTTP)
		}
		s.deals = nil
		for i := 0; i < deals; i++ {
			s.deals = append(s.deals, newDealRun(prefix, i))
		}
		if err := measure(fmt.Sprintf("%d worker(s): %d deals walked by clicks", workers, deals), func() (int, int, int, error) {
			return deals, 0, 0, s.walkAll(ctx)
		}); err != nil {
			return err
		}
		if err := measure(fmt.Sprintf("%d worker(s): %d invoices, CSV and API", workers, invoices), func() (int, int, int, error) {
			return 0, invoices, 0, s.invoices(ctx, invoices, time.Now())
		}); err != nil {
			return err
		}
	}
	if err := measure("raw signals to a no-op workflow (20,000 over 20)", func() (int, int, int, error) {
		return 0, 0, 20000, s.rawSignals(ctx, 20, 20000)
	}); err != nil {
		return err
	}
	fmt.Printf("\nScale-out (one stack, %d deals and %d invoices a run; CPU-seconds per deal walked, per 1,000 invoices, per 1,000 signals)\n", deals, invoices)
	for _, p := range phases {
		unit, per := "deals/s", float64(max(p.deals, 1))
		switch {
		case p.invoices > 0:
			unit, per = "invoices/s", float64(p.invoices)/1000
		case p.signals > 0:
			unit, per = "signals/s", float64(p.signals)/1000
		}
		fmt.Printf("\n  %s: %v, %.1f %s\n", p.name, p.wall.Round(100*time.Millisecond), p.perSecond, unit)
		for _, n := range p.cpu.names {
			fmt.Printf("    %-38s %7.1f s  %7.2f per unit\n", n, p.cpu.use[n].Seconds(), p.cpu.use[n].Seconds()/per)
		}
	}
	if len(s.failures) > 0 {
		return fmt.Errorf("%d checks failed", len(s.failures))
	}
	return nil
}

// walkAll walks every deal of s.deals into delivery, ten at a time, and
// sends each its anchor invoice.
func (s *soak) walkAll(ctx context.Context) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 10)
	errs := make(chan error, len(s.deals))
	for _, d := range s.deals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := s.walk(ctx, d); err != nil {
				errs <- err
				return
			}
			if err := s.anchor(ctx, d); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// noop takes signals and does nothing with them: Temporal's own cost of a
// signal, to compare intake with.
func noop(ctx workflow.Context) error {
	ch := workflow.GetSignalChannel(ctx, "invoice")
	for {
		var v any
		ch.Receive(ctx, &v)
	}
}

// rawSignals sends n signals over k no-op workflows, eight senders at a
// time, with the worker for them in this process.
func (s *soak) rawSignals(ctx context.Context, k, n int) error {
	w := worker.New(s.c, "scale-noop", worker.Options{})
	w.RegisterWorkflow(noop)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	for i := 0; i < k; i++ {
		if _, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("noop-%d", i), TaskQueue: "scale-noop"}, noop); err != nil {
			return err
		}
	}
	payload := json.RawMessage(`{"invoice_id":"X","category":"travel","amount":"12.34","currency":"EUR","date":"2026-12-01"}`)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				if err := s.c.SignalWorkflow(ctx, fmt.Sprintf("noop-%d", i%k), "", "invoice", payload); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
