package db_test

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"dealflow/db"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/devstack"
)

// migratedStore is a Store on a fresh database of its own, dropped when
// the test or benchmark ends.
func migratedStore(tb testing.TB) *db.Store {
	tb.Helper()
	ctx := context.Background()
	url, drop, err := devstack.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(drop)
	pool, err := db.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := db.Migrate(ctx, pool); err != nil {
		tb.Fatal(err)
	}
	return &db.Store{Pool: pool}
}

// TestLoadRecordKeepsTheRecordsRefusals: PostgreSQL keeps every refusal
// ever saved, and a deal read back holds the same newest ones as the
// workflow's record.
func TestLoadRecordKeepsTheRecordsRefusals(t *testing.T) {
	ctx := context.Background()
	store := migratedStore(t)
	pool := store.Pool
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	r, _, err := deal.Open(dealtest.Terms("d1", start), start)
	if err != nil {
		t.Fatal(err)
	}
	bad := dealtest.JSON(map[string]string{"ticket": "nope"})
	for round := 0; round < 2; round++ {
		for i := 0; i < 150; i++ {
			r.Apply(start.Add(time.Duration(round*150+i)*time.Second), deal.SigSignoff, bad)
		}
		if err := store.SaveRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var all int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM refusals WHERE deal_id = 'd1'").Scan(&all); err != nil || all != 300 {
		t.Fatalf("%d refusals stored (%v), want all 300", all, err)
	}
	got, err := store.LoadRecord(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Refusals) != deal.MaxRefusals || !reflect.DeepEqual(dealtest.Comparable(got), dealtest.Comparable(r)) {
		t.Fatalf("read back %d refusals, the record holds %d; records differ", len(got.Refusals), len(r.Refusals))
	}
}
