package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// BenchmarkSaveRecord measures one write of a deal record, which the
// workflow does after every change, for deals of growing size:
//
//	go test -run '^$' -bench SaveRecord -benchmem ./db
func BenchmarkSaveRecord(b *testing.B) {
	ctx := context.Background()
	store := migratedStore(b)
	for _, invoices := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("invoices=%d", invoices), func(b *testing.B) {
			r := bigRecord(b, fmt.Sprintf("bench-%d", invoices), invoices)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.Version++
				if err := store.SaveRecord(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func bigRecord(b *testing.B, id string, invoices int) *deal.Record {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	r, _, err := deal.Open(dealtest.Terms(id, start), start)
	if err != nil {
		b.Fatal(err)
	}
	steps := dealtest.ToDelivery()
	for i := 0; i < invoices; i++ {
		steps = append(steps, dealtest.Invoice(fmt.Sprintf("INV-%d", i), "subcontractor", "10.50", "2026-02-01"))
	}
	for i, s := range steps {
		if res, _ := r.Apply(start.Add(time.Duration(i)*time.Minute), s.Signal, s.Payload); res.Status != deal.Accepted {
			b.Fatalf("%s: %+v", s.Signal, res)
		}
	}
	return r
}
