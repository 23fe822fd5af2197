package db_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/db"
	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// claimed opens a deal in the rules and writes its row and opening rows, as
// the workflow's ClaimDeal and first SaveRows do.
func claimed(t testing.TB, store *db.Store, id string, at time.Time) *dealtest.Deal {
	t.Helper()
	ctx := context.Background()
	d, err := dealtest.Open(dealtest.Terms(id, at), at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ClaimDeal(ctx, d.State, "run-"+id); err != nil {
		t.Fatal(err)
	}
	sum := d.State.Summary()
	if _, err := store.SaveRows(ctx, &sum, "", d.Effects.Rows); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestLoadRecordKeepsTheRecordsRefusals: PostgreSQL keeps every refusal
// ever saved, and a deal read back holds the newest ones, the same as the
// record the rules built.
func TestLoadRecordKeepsTheRecordsRefusals(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Store(t)
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	d := claimed(t, store, "d1", start)
	bad := dealtest.JSON(map[string]string{"ticket": "nope"})
	// Two writes of 150 refusals each: the second must add to the first,
	// not replace it.
	for round := 0; round < 2; round++ {
		var rows deal.Rows
		for i := 0; i < 150; i++ {
			if res := d.Send(start.Add(time.Duration(round*150+i)*time.Second), deal.SigSignoff, bad); res.Status != deal.Refused {
				t.Fatalf("sign-off of an unknown ticket answered %+v, want refused", res)
			}
			rows.Merge(d.Effects.Rows)
		}
		sum := d.State.Summary()
		if _, err := store.SaveRows(ctx, &sum, "", rows); err != nil {
			t.Fatal(err)
		}
	}
	var all int
	if err := store.Pool.QueryRow(ctx, "SELECT count(*) FROM refusals WHERE deal_id = 'd1'").Scan(&all); err != nil || all != 300 {
		t.Fatalf("%d refusals stored (%v), want all 300", all, err)
	}
	got, err := store.LoadRecord(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	want := *d.Record
	want.Refusals = want.Refusals[len(want.Refusals)-deal.MaxRefusals:]
	if len(got.Refusals) != deal.MaxRefusals || got.Refusals[0].Seq != 101 || got.Version != d.State.Version {
		t.Fatalf("read back %d refusals from seq %d at version %d, want the newest %d from 101 at version %d",
			len(got.Refusals), got.Refusals[0].Seq, got.Version, deal.MaxRefusals, d.State.Version)
	}
	if !reflect.DeepEqual(dealtest.Comparable(got), dealtest.Comparable(&want)) {
		t.Fatalf("read back:\n%s\nthe rules' record, newest refusals:\n%s", dealtest.JSON(dealtest.Comparable(got)), dealtest.JSON(dealtest.Comparable(&want)))
	}
}

// invoice is an invoice as the rules accept it, in EUR.
func invoice(t testing.TB, id, category, amount string) db.LedgerEntry {
	t.Helper()
	inv, err := deal.NewInvoice(deal.InvoiceSignal{InvoiceID: id, Category: category, Amount: decimal.RequireFromString(amount),
		Currency: "EUR", Date: deal.NewDate(2026, 2, 1), Supplier: "Initech"}, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	inv.ReceivedAt = time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	return db.LedgerEntry{LedgerEntry: deal.LedgerEntry{Invoice: &inv}}
}

func statuses(res []deal.Result) []string {
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.Status
	}
	return out
}

// storedInvoices counts a deal's invoice rows and sums them in PostgreSQL,
// independently of the totals TakeLedger keeps.
func storedInvoices(t testing.TB, store *db.Store, id string) (int64, decimal.Decimal) {
	t.Helper()
	var n int64
	var sum decimal.Decimal
	if err := store.Pool.QueryRow(context.Background(),
		"SELECT count(*), COALESCE(sum(deal_amount), 0) FROM cost_invoices WHERE deal_id = $1", id).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	return n, sum
}

// TestTakeLedgerIdempotent: PostgreSQL decides whether an invoice is new.
// A retried batch, a re-sent invoice, a re-sent row of an intake job and a
// repeat inside one batch must each be counted once, and a conflicting
// re-use of an id never overwrites the invoice taken.
func TestTakeLedgerIdempotent(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Store(t)
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	claimed(t, store, "d1", start)
	take := func(batch int64, entries ...db.LedgerEntry) ([]string, []deal.Result, deal.Ledger) {
		t.Helper()
		res, totals, err := store.TakeLedger(ctx, "d1", batch, entries)
		if err != nil {
			t.Fatal(err)
		}
		return statuses(res), res, totals
	}
	// wantTotals checks the totals answered against what the test sent
	// and against the rows PostgreSQL holds.
	wantTotals := func(totals deal.Ledger, n int64, cost string) {
		t.Helper()
		stored, sum := storedInvoices(t, store, "d1")
		if totals.Invoices != n || !totals.ActualCost().Equal(decimal.RequireFromString(cost)) || stored != n || !sum.Equal(totals.ActualCost()) {
			t.Fatalf("totals %d invoices %s, rows %d summing %s; want %d invoices %s", totals.Invoices, totals.ActualCost(), stored, sum, n, cost)
		}
	}
	a, b := invoice(t, "A", "subcontractor", "100.10"), invoice(t, "B", "travel", "20.05")

	t.Run("a retried batch counts once", func(t *testing.T) {
		got, _, first := take(1, a, b)
		if want := []string{deal.Accepted, deal.Accepted}; !reflect.DeepEqual(got, want) {
			t.Fatalf("batch 1 answered %v, want %v", got, want)
		}
		wantTotals(first, 2, "120.15")
		// The first attempt committed and the worker died before the
		// workflow heard: the retry must hear accepted, as the first
		// attempt would have said, and count nothing again.
		got, _, again := take(1, a, b)
		if want := []string{deal.Accepted, deal.Accepted}; !reflect.DeepEqual(got, want) {
			t.Fatalf("batch 1 retried answered %v, want %v", got, want)
		}
		wantTotals(again, 2, "120.15")
		if again.Batches != 1 {
			t.Fatalf("batches %d after batch 1 twice, want 1", again.Batches)
		}
	})

	t.Run("a later batch: same content duplicate, other content refused", func(t *testing.T) {
		other := invoice(t, "A", "subcontractor", "999.99")
		got, res, totals := take(2, a, other)
		if want := []string{deal.Duplicate, deal.Refused}; !reflect.DeepEqual(got, want) {
			t.Fatalf("batch 2 answered %v, want %v", got, want)
		}
		if !strings.Contains(res[1].Reason, "already recorded with other content") {
			t.Fatalf("conflict reason %q", res[1].Reason)
		}
		wantTotals(totals, 2, "120.15")
		// The invoice taken first stays as it was.
		var amount decimal.Decimal
		if err := store.Pool.QueryRow(ctx, "SELECT amount FROM cost_invoices WHERE deal_id = 'd1' AND invoice_id = 'A'").Scan(&amount); err != nil ||
			!amount.Equal(decimal.RequireFromString("100.10")) {
			t.Fatalf("invoice A holds %s (%v), want 100.10", amount, err)
		}
	})

	t.Run("the same id twice in one batch", func(t *testing.T) {
		c := invoice(t, "C", "license", "7.01")
		got, _, totals := take(3, c, c)
		if want := []string{deal.Accepted, deal.Duplicate}; !reflect.DeepEqual(got, want) {
			t.Fatalf("batch 3 answered %v, want %v", got, want)
		}
		wantTotals(totals, 3, "127.16")
		// Retrying that batch hears what its first attempt said.
		got, _, totals = take(3, c, c)
		if want := []string{deal.Accepted, deal.Duplicate}; !reflect.DeepEqual(got, want) {
			t.Fatalf("batch 3 retried answered %v, want %v", got, want)
		}
		wantTotals(totals, 3, "127.16")
	})

	t.Run("a row of a source sent again", func(t *testing.T) {
		e := invoice(t, "E", "internal", "50.00")
		e.Source = "job-1#7"
		got, _, totals := take(4, e)
		if want := []string{deal.Accepted}; !reflect.DeepEqual(got, want) {
			t.Fatalf("batch 4 answered %v, want %v", got, want)
		}
		wantTotals(totals, 4, "177.16")
		// A job resuming after a crash sends its row again in a new batch:
		// it was taken by that row, so it is accepted, and counted once.
		got, _, totals = take(5, e)
		if want := []string{deal.Accepted}; !reflect.DeepEqual(got, want) {
			t.Fatalf("the same source in batch 5 answered %v, want %v", got, want)
		}
		wantTotals(totals, 4, "177.16")
		// The same invoice from anyone else is a repeat.
		other := e
		other.Source = "job-2#1"
		plain := e
		plain.Source = ""
		got, _, totals = take(6, other, plain)
		if want := []string{deal.Duplicate, deal.Duplicate}; !reflect.DeepEqual(got, want) {
			t.Fatalf("the invoice from another source answered %v, want %v", got, want)
		}
		wantTotals(totals, 4, "177.16")
	})

	t.Run("invoice and fee ids are apart", func(t *testing.T) {
		fee := db.LedgerEntry{LedgerEntry: deal.LedgerEntry{Fee: &deal.Fee{FeeID: "A", Kind: "invoiced",
			Amount: decimal.RequireFromString("1000"), Currency: "EUR", Date: deal.NewDate(2026, 2, 1)}}}
		got, _, totals := take(7, fee, fee)
		if want := []string{deal.Accepted, deal.Duplicate}; !reflect.DeepEqual(got, want) {
			t.Fatalf("fee A answered %v, want %v", got, want)
		}
		if totals.Fees != 1 || !totals.FeesInvoiced.Equal(decimal.RequireFromString("1000")) {
			t.Fatalf("fees %d invoiced %s, want 1 and 1000", totals.Fees, totals.FeesInvoiced)
		}
		wantTotals(totals, 4, "177.16")
	})
}

// TestTakeLedgerTotalsToTheCent: the running totals of 20,000 invoices,
// some in another currency and some credit notes, equal the sum of the
// rows to the cent, and the deal read back counts them all.
func TestTakeLedgerTotalsToTheCent(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Store(t)
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	claimed(t, store, "big", start)
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]decimal.Decimal{}
	total := decimal.Zero
	const invoices, batchSize = 20000, 500
	var totals deal.Ledger
	for batch := int64(1); batch <= invoices/batchSize; batch++ {
		entries := make([]db.LedgerEntry, 0, batchSize)
		for i := 0; i < batchSize; i++ {
			n := int(batch-1)*batchSize + i
			cat := deal.InvoiceCategories[rng.IntN(len(deal.InvoiceCategories))]
			sig := deal.InvoiceSignal{InvoiceID: fmt.Sprintf("INV-%05d", n), Category: cat,
				Amount: decimal.New(rng.Int64N(10_000_000)+1, -2), Currency: "EUR", Date: deal.NewDate(2026, 2, 1)}
			switch n % 10 {
			case 3: // a dollar invoice: its deal amount is rounded to the cent
				sig.Currency, sig.Amount = "USD", decimal.New(rng.Int64N(10_000_000)+1, -2)
				fx := decimal.RequireFromString("0.9137")
				sig.FXRate = &fx
			case 7:
				sig.Credit = true
			}
			inv, err := deal.NewInvoice(sig, "EUR")
			if err != nil {
				t.Fatal(err)
			}
			want[cat] = want[cat].Add(inv.DealAmount)
			total = total.Add(inv.DealAmount)
			entries = append(entries, db.LedgerEntry{LedgerEntry: deal.LedgerEntry{Invoice: &inv}})
		}
		res, got, err := store.TakeLedger(ctx, "big", batch, entries)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Status != deal.Accepted {
				t.Fatalf("batch %d row %d answered %+v", batch, i, r)
			}
		}
		totals = got
	}
	if totals.Invoices != invoices || !totals.ActualCost().Equal(total) {
		t.Fatalf("totals %d invoices costing %s, want %d costing %s", totals.Invoices, totals.ActualCost(), invoices, total)
	}
	for _, c := range totals.Costs {
		if !c.Amount.Equal(want[c.Category]) {
			t.Errorf("%s costs %s, the rows sent sum to %s", c.Category, c.Amount, want[c.Category])
		}
	}
	if n, sum := storedInvoices(t, store, "big"); n != invoices || !sum.Equal(total) {
		t.Fatalf("PostgreSQL holds %d invoices summing %s, want %d summing %s", n, sum, invoices, total)
	}
	rec, err := store.LoadRecord(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if rec.InvoicesTotal != invoices || len(rec.Invoices) != deal.MaxInvoicesShown || !rec.Margin.ActualCost.Equal(total) ||
		rec.Invoices[len(rec.Invoices)-1].InvoiceID != fmt.Sprintf("INV-%05d", invoices-1) {
		t.Fatalf("read back %d of %d invoices, actual cost %s; want the newest %d of %d, actual cost %s",
			len(rec.Invoices), rec.InvoicesTotal, rec.Margin.ActualCost, deal.MaxInvoicesShown, invoices, total)
	}
}

// TestSaveRowsLeavesTheLedgerAlone: the workflow writes its state
// (SaveRows) and takes ledger batches (TakeLedger) from two loops, so a
// state written before a batch was answered can commit after the batch.
// The ledger's totals are PostgreSQL's own: such a write must not change
// them, or the next batch counts on from the wrong totals.
func TestSaveRowsLeavesTheLedgerAlone(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Store(t)
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	d := claimed(t, store, "d1", start)
	// The state as it was before the fee was answered, written after it.
	before := d.State.Summary()
	before.Version++
	fee := func(id, kind, amount string) db.LedgerEntry {
		return db.LedgerEntry{LedgerEntry: deal.LedgerEntry{Fee: &deal.Fee{FeeID: id, Kind: kind,
			Amount: decimal.RequireFromString(amount), Currency: "EUR", Date: deal.NewDate(2026, 2, 1)}}}
	}
	inv := invoice(t, "I1", "travel", "120.00")
	if _, _, err := store.TakeLedger(ctx, "d1", 1, []db.LedgerEntry{fee("F1", "invoiced", "40000"), inv}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveRows(ctx, &before, "", deal.Rows{}); err != nil {
		t.Fatal(err)
	}
	_, totals, err := store.TakeLedger(ctx, "d1", 2, []db.LedgerEntry{fee("F2", "collected", "25000")})
	if err != nil {
		t.Fatal(err)
	}
	if !totals.FeesInvoiced.Equal(decimal.RequireFromString("40000")) || !totals.FeesCollected.Equal(decimal.RequireFromString("25000")) ||
		totals.Fees != 2 || totals.Invoices != 1 || !totals.ActualCost().Equal(decimal.RequireFromString("120")) {
		t.Fatalf("after a stale state write: fees %d, invoiced %s, collected %s, %d invoices costing %s; want 2, 40000, 25000, 1 costing 120",
			totals.Fees, totals.FeesInvoiced, totals.FeesCollected, totals.Invoices, totals.ActualCost())
	}
	rec, err := store.LoadRecord(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Margin.FeesPending.Equal(decimal.RequireFromString("15000")) {
		t.Fatalf("the deal read back has %s fees pending, want 15000", rec.Margin.FeesPending)
	}
}
