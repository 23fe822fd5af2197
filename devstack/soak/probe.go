package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
	"dealflow/workflows"
)

// sample is one timed request: when it started, how long it took, and
// whether it failed.
type sample struct {
	At   time.Time
	Took time.Duration
	Err  bool
}

type series struct {
	mu sync.Mutex
	s  []sample
}

func (r *series) add(at time.Time, took time.Duration, err bool) {
	r.mu.Lock()
	r.s = append(r.s, sample{at, took, err})
	r.mu.Unlock()
}

// between are the samples started in [from, to).
func (r *series) between(from, to time.Time) []sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sample
	for _, x := range r.s {
		if !x.At.Before(from) && x.At.Before(to) {
			out = append(out, x)
		}
	}
	return out
}

// quantiles says p50 and p99 of the samples, and how many failed.
func quantiles(xs []sample) string {
	var d []time.Duration
	failed := 0
	for _, x := range xs {
		if x.Err {
			failed++
			continue
		}
		d = append(d, x.Took)
	}
	if len(d) == 0 {
		return fmt.Sprintf("no answers (%d failed)", failed)
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	out := fmt.Sprintf("p50 %7s  p99 %7s  (%d samples", round(q(0.50)), round(q(0.99)), len(d))
	if failed > 0 {
		out += fmt.Sprintf(", %d failed", failed)
	}
	return out + ")"
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// anchor sends the deal's anchor invoice through finance intake: the
// invoice the probes send again.
func (s *soak) anchor(ctx context.Context, d *dealRun) error {
	v := &invoice{ID: "ANCHOR", DealID: d.ID, Category: "travel", Amount: decimal.RequireFromString("1.00"), Date: today()}
	s.ledger.add(v)
	d.anchorInv = v
	if err := s.settle(ctx, v); err != nil {
		return err
	}
	d.anchored.Store(true)
	return nil
}

// touch sends the deal's anchor invoice again as an update: a full round
// trip through Temporal, the worker and PostgreSQL that changes nothing
// and must answer duplicate.
func (s *soak) touch(ctx context.Context, d *dealRun) error {
	v := d.anchorInv
	payload, _ := json.Marshal(map[string]any{"invoice_id": v.ID, "category": v.Category, "amount": v.Amount.StringFixed(2),
		"currency": "EUR", "date": v.Date, "supplier": "Initech GmbH", "memo": "soak"})
	res, err := workflows.Send(ctx, s.c, d.ID, deal.SigInvoice, payload)
	if err != nil {
		return err
	}
	if res.Status != deal.Duplicate {
		return fmt.Errorf("deal %s answered %s %s to its anchor invoice sent again, want duplicate", d.ID, res.Status, res.Reason)
	}
	return nil
}

// probeUpdates times an update to a deal in delivery every 250 ms, in
// turn, until ctx ends.
func (s *soak) probeUpdates(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		d := s.nextDelivered(ctx, i)
		if d == nil {
			return
		}
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := s.touch(pctx, d)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.updates.add(start, time.Since(start), err != nil)
		time.Sleep(250 * time.Millisecond)
	}
}

// probeAlerts times invoice → margin alert in Slack every few seconds: an
// invoice that takes a deal off track, sent to finance intake, until its
// alert is in the deal's channel; then a credit note that takes it back,
// until the recovery's alert is there.
func (s *soak) probeAlerts(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		d := s.nextDelivered(ctx, i)
		if d == nil {
			return
		}
		for _, credit := range []bool{false, true} {
			kind := "worsened"
			if credit {
				kind = "recovered"
			}
			v := &invoice{ID: fmt.Sprintf("ALERT-%04d-%t", i, credit), DealID: d.ID, Category: "subcontractor",
				Amount: decimal.RequireFromString(probeAmount), Credit: credit, Date: today()}
			s.ledger.add(v)
			before := s.alerts(d, kind)
			start := time.Now()
			err := s.settle(ctx, v)
			for err == nil && s.alerts(d, kind) == before {
				if time.Since(start) > 5*time.Minute {
					err = fmt.Errorf("no %s alert for deal %s within 5 minutes of its invoice", kind, d.ID)
					s.fail("%v", err)
					break
				}
				if ctx.Err() != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			if ctx.Err() != nil {
				return
			}
			s.alertLatency.add(start, time.Since(start), err != nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// alerts counts the margin alerts of a kind in the deal's channel.
func (s *soak) alerts(d *dealRun, kind string) int {
	n := 0
	for _, m := range s.fake.Messages() {
		if m.Channel == d.Channel && strings.Contains(m.Text, ": margin "+kind+" ") {
			n++
		}
	}
	return n
}

// nextDelivered is the i-th deal in delivery, in turn, once there is one
// (nil once ctx ends).
func (s *soak) nextDelivered(ctx context.Context, i int) *dealRun {
	for ctx.Err() == nil {
		if deals := s.delivered(); len(deals) > 0 {
			return deals[i%len(deals)]
		}
		time.Sleep(time.Second)
	}
	return nil
}

// settle sends one invoice to its answer even when ctx ends meanwhile (5
// minutes at most): an invoice sent is in the ledger, so its answer must
// be too, or the end checks would find it in PostgreSQL unaccounted for.
func (s *soak) settle(ctx context.Context, v *invoice) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	return s.send(ctx, file{rows: []*invoice{v}})
}
