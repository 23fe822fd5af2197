package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestInvoiceCSV sends an accounting export: the good row is taken, its
// repeat is a duplicate, the bad row is refused with its reason, and the
// bad row holds nothing back.
func TestInvoiceCSV(t *testing.T) {
	id := newDealID("inv")
	openDeal(t, id, "Hooli")
	csv := writeFile(t, "export.csv", "deal_id,invoice_id,category,amount,currency,date,supplier\n"+
		id+",INV-1,subcontractor,12000.50,EUR,2026-01-10,Initech\n"+
		id+",INV-1,subcontractor,12000.50,EUR,2026-01-10,Initech\n"+
		id+",INV-2,travel,12.x,EUR,2026-01-11,Rail\n"+
		id+",INV-3,license,800,EUR,2026-01-12,Vendor\n"+
		"nope-9,INV-4,license,10,EUR,2026-01-12,Vendor\n")
	out, err := cmd(t, runInvoice, "--csv", csv)
	if !errors.Is(err, errRefused) {
		t.Fatalf("a file with refused rows must fail; got %v\n%s", err, out)
	}
	want := []string{
		"row 1 (deal " + id + ", invoice INV-1): accepted",
		"row 2 (deal " + id + ", invoice INV-1): duplicate (already recorded)",
		"row 3 (deal " + id + ", invoice INV-2): refused: amount \"12.x\" is not a decimal: write an optional -",
		"row 4 (deal " + id + ", invoice INV-3): accepted",
		"row 5 (deal nope-9, invoice INV-4): refused: unknown deal nope-9",
		"5 rows: 2 accepted, 1 duplicate, 2 refused, 0 unknown",
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("printed\n%s\nwant %d lines", out, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want it to start %q", i+1, lines[i], w)
		}
	}
	rec, st := stored(t, id)
	if st.Deal.Ledger.Invoices != 2 || st.Deal.Margin.ActualCost.StringFixed(2) != "12800.50" {
		t.Fatalf("the workflow counts %d invoices costing %s; want INV-1 and INV-3, 12800.50", st.Deal.Ledger.Invoices, st.Deal.Margin.ActualCost)
	}
	var ids []string
	for _, inv := range rec.Invoices {
		ids = append(ids, inv.InvoiceID)
	}
	if want := []string{"INV-1", "INV-3"}; !reflect.DeepEqual(ids, want) || rec.Margin.ActualCost.StringFixed(2) != "12800.50" {
		t.Fatalf("PostgreSQL holds invoices %v costing %s; want %v, 12800.50", ids, rec.Margin.ActualCost, want)
	}

	// The same through a JSON finance file: all repeats, so it succeeds.
	js := writeFile(t, "batch.json", `[{"deal_id":"`+id+`","invoice_id":"INV-3","category":"license","amount":"800","currency":"EUR","date":"2026-01-12","supplier":"Vendor"}]`)
	out, err = cmd(t, runInvoice, "--file", js)
	if err != nil || !strings.Contains(out, "row 1 (deal "+id+", invoice INV-3): duplicate (already recorded)") {
		t.Fatalf("JSON finance file: %v\n%s", err, out)
	}
	// Mixing a finance file with payload flags is a usage error.
	if _, err := cmd(t, runInvoice, "--csv", csv, "--amount", "3"); err == nil || !strings.Contains(err.Error(), "drop --amount") {
		t.Errorf("--csv with --amount: %v", err)
	}
}
