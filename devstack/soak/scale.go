package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"dealflow/devstack"
	"dealflow/devstack/prodstack"
)

// runScale measures, in one run on one stack: the same load (deals walked
// by clicks, then invoices as fast as intake takes them) on one worker
// process and then on two, and the raw signal ceiling of the same server;
// each with the CPU-seconds of every component.
func runScale(ctx context.Context, o options) error {
	s, err := setup(ctx, o, o.name)
	if err != nil {
		return err
	}
	defer s.close()
	deals, invoices := min(o.deals, 20), min(o.invoices, 5000)
	fmt.Printf("\nScale-out (one stack, %d deals and %d invoices a run; CPU-seconds per deal walked, per 1,000 invoices, per 1,000 signals)\n", deals, invoices)
	// measure runs one phase and prints its figures at once.
	measure := func(name string, f func() (units int, unit string, err error)) error {
		c0, t0 := s.cpu(), time.Now()
		n, unit, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		wall, cpu := time.Since(t0), s.cpu().minus(c0)
		per := float64(n)
		if unit != "deals" {
			per /= 1000
		}
		fmt.Printf("\n  %s: %v, %.1f %s/s\n", name, wall.Round(100*time.Millisecond), float64(n)/wall.Seconds(), unit)
		for _, c := range cpu.names {
			fmt.Printf("    %-38s %7.1f s  %7.2f per unit\n", c, cpu.use[c].Seconds(), cpu.use[c].Seconds()/per)
		}
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
		if err := measure(fmt.Sprintf("%d worker(s): %d deals walked by clicks", workers, deals), func() (int, string, error) {
			return deals, "deals", s.walkAll(ctx)
		}); err != nil {
			return err
		}
		if err := measure(fmt.Sprintf("%d worker(s): %d invoices, CSV and API", workers, invoices), func() (int, string, error) {
			return invoices, "invoices", s.invoices(ctx, invoices, time.Now())
		}); err != nil {
			return err
		}
	}
	if err := measure(fmt.Sprintf("raw signals to a no-op workflow (%d over 20)", invoices), func() (int, string, error) {
		_, err := devstack.RawSignalRate(ctx, s.c, "scale-noop", 20, invoices)
		return invoices, "signals", err
	}); err != nil {
		return err
	}
	if len(s.failures) > 0 {
		return fmt.Errorf("%d checks failed", len(s.failures))
	}
	return nil
}

// walkAll walks every deal of s.deals into delivery, ten at a time, and
// sends each its anchor invoice. Each deal that fails is a failure of the
// run; the error says how many.
func (s *soak) walkAll(ctx context.Context) error {
	var wg sync.WaitGroup
	var failed atomic.Int64
	sem := make(chan struct{}, 10)
	for _, d := range s.deals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			err := s.walk(ctx, d)
			if err == nil {
				err = s.anchor(ctx, d)
			}
			if err != nil {
				s.fail("deal %s: %v", d.ID, err)
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d deals did not reach delivery", n)
	}
	return nil
}
