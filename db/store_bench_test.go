package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/db"
	"dealflow/db/dbq"
	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// The workflow writes a deal's changes as deltas (SaveRows) and its
// invoices and fees in batches (TakeLedger); neither should grow with the
// deal. Run them with
//
//	go test -run '^$' -bench 'SaveRows|TakeLedger' -benchmem ./db

// BenchmarkSaveRows measures one write of a typical delta: the pricing
// approval that closes the last presale ticket (ticket, sign-off, stage
// change), and a margin check during delivery (snapshot), for a deal
// that has gone through the whole presale.
func BenchmarkSaveRows(b *testing.B) {
	ctx := context.Background()
	store := dbtest.Store(b)
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	steps := dealtest.ToDelivery()
	deltas := map[string]func(d *dealtest.Deal, at time.Time){
		"signoff": func(d *dealtest.Deal, at time.Time) {
			last := steps[len(dealtest.ToClosing())-1] // the pricing approval
			if res := d.Send(at, last.Signal, last.Payload); res.Status != deal.Accepted {
				b.Fatalf("%+v", res)
			}
		},
		"margin_check": func(d *dealtest.Deal, at time.Time) { d.Check(at.Add(24 * time.Hour)) },
	}
	for _, name := range []string{"signoff", "margin_check"} {
		b.Run("delta="+name, func(b *testing.B) {
			id := "bench-" + name
			d := claimed(b, store, id, start)
			at := start
			upTo := len(steps)
			if name == "signoff" {
				upTo = len(dealtest.ToClosing()) - 1
			}
			var rows deal.Rows
			for _, s := range steps[:upTo] {
				at = at.Add(time.Minute)
				if res := d.Send(at, s.Signal, s.Payload); res.Status != deal.Accepted {
					b.Fatalf("%s: %+v", s.Signal, res)
				}
				rows.Merge(d.Effects.Rows)
			}
			sum := d.State.Summary()
			if _, err := store.SaveRows(ctx, &sum, "", rows); err != nil {
				b.Fatal(err)
			}
			deltas[name](d, at.Add(time.Minute))
			delta, sum := d.Effects.Rows, d.State.Summary()
			if delta.Len() == 0 {
				b.Fatalf("delta %s writes no rows", name)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Rows are keyed: every iteration rewrites the same rows, as a
				// retried activity does; the version grows so the state
				// columns are written too.
				sum.Version++
				if _, err := store.SaveRows(ctx, &sum, "", delta); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTakeLedger measures one batch of new invoices into a deal that
// already holds 0, 10,000 or 50,000. Each iteration's batch is taken out
// again with the timer stopped, so every iteration meets the same deal.
func BenchmarkTakeLedger(b *testing.B) {
	ctx := context.Background()
	store := dbtest.Store(b)
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for _, held := range []int{0, 10_000, 50_000} {
		id := fmt.Sprintf("bench-%d", held)
		claimed(b, store, id, start)
		// Seed in batches of 5,000, the way the deal would have taken them.
		var seeded deal.Ledger
		batch := int64(0)
		for n := 0; n < held; n += 5000 {
			batch++
			res, totals, err := store.TakeLedger(ctx, id, batch, benchInvoices(fmt.Sprintf("SEED-%d-", batch), min(5000, held-n)))
			if err != nil {
				b.Fatal(err)
			}
			if res[len(res)-1].Status != deal.Accepted {
				b.Fatalf("seed batch %d: %+v", batch, res[len(res)-1])
			}
			seeded = totals
		}
		if _, err := store.Pool.Exec(ctx, "ANALYZE cost_invoices"); err != nil {
			b.Fatal(err)
		}
		for _, size := range []int{100, 500} {
			b.Run(fmt.Sprintf("held=%d/batch=%d", held, size), func(b *testing.B) {
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					batch++
					entries := benchInvoices(fmt.Sprintf("B%d-", batch), size)
					b.StartTimer()
					res, totals, err := store.TakeLedger(ctx, id, batch, entries)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					if res[0].Status != deal.Accepted || totals.Invoices != int64(held+size) {
						b.Fatalf("batch %d: %+v, %d invoices after it", batch, res[0], totals.Invoices)
					}
					unseed(b, store, id, batch, seeded)
					b.StartTimer()
				}
			})
		}
	}
}

// benchInvoices are n subcontractor invoices with ids prefix0…
func benchInvoices(prefix string, n int) []db.LedgerEntry {
	out := make([]db.LedgerEntry, n)
	received := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	for i := range out {
		amount := decimal.New(int64(1000+i), -2)
		out[i] = db.LedgerEntry{LedgerEntry: deal.LedgerEntry{Invoice: &deal.Invoice{InvoiceID: fmt.Sprintf("%s%d", prefix, i),
			Category: "subcontractor", Amount: amount, Currency: "EUR", DealAmount: amount, Date: deal.NewDate(2026, 2, 1),
			Supplier: "Initech", ReceivedAt: received}}}
	}
	return out
}

// unseed takes a benchmark batch's invoices out and puts the seeded
// totals back.
func unseed(b *testing.B, store *db.Store, id string, batch int64, seeded deal.Ledger) {
	ctx := context.Background()
	if _, err := store.Pool.Exec(ctx, "DELETE FROM cost_invoices WHERE deal_id = $1 AND batch = $2", id, batch); err != nil {
		b.Fatal(err)
	}
	l := seeded
	if len(l.Costs) == 0 {
		l = deal.NewLedger()
	}
	cost := func(cat string) decimal.Decimal {
		for _, c := range l.Costs {
			if c.Category == cat {
				return c.Amount
			}
		}
		return decimal.Zero
	}
	if err := store.Queries().SetLedger(ctx, dbq.SetLedgerParams{DealID: id, Batch: batch, InvoiceCount: l.Invoices, FeeCount: l.Fees,
		CostSubcontractor: cost("subcontractor"), CostLicense: cost("license"), CostTravel: cost("travel"),
		CostInternal: cost("internal"), FeesInvoiced: l.FeesInvoiced, FeesCollected: l.FeesCollected}); err != nil {
		b.Fatal(err)
	}
}
