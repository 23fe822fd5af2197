package deal_test

import (
	"fmt"
	"strings"
	"testing"

	"dealflow/deal"
)

// BenchmarkCheckInputInvoice is the field check every invoice passes in
// the workflow, on top of its decoding.
func BenchmarkCheckInputInvoice(b *testing.B) {
	p := []byte(`{"invoice_id":"INV-00042","category":"subcontractor","amount":"12000.50","currency":"USD","fx_rate":"0.9123","date":"2026-01-10","supplier":"Initech GmbH","memo":"Sprint 1, week 2"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := deal.CheckInput(deal.SigInvoice, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseInvoicesCSV100k parses and checks a month's export of
// 100,000 rows, every cell by the field rules.
func BenchmarkParseInvoicesCSV100k(b *testing.B) {
	var csv strings.Builder
	csv.WriteString("deal_id,invoice_id,category,amount,currency,date,supplier,memo,fx_rate,credit\n")
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&csv, "deal-%03d,INV-%06d,subcontractor,%d.%02d,EUR,2026-01-10,Initech GmbH,\"Sprint %d, week 2\",,\n", i%100, i, 100+i%9000, i%100, i%40)
	}
	body := csv.String()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rows, err := deal.ParseInvoicesCSV(strings.NewReader(body))
		if err != nil || len(rows) != 100000 || rows[99999].Err != nil {
			b.Fatal(err)
		}
	}
}
