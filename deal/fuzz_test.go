package deal_test

// Fuzz targets for every decoder of outside input in this package. `make
// test` runs their seed corpora (the f.Add calls and testdata/fuzz); to
// fuzz one longer: go test -run '^$' -fuzz '^FuzzCheckInput$' -fuzztime 10m ./deal
//
// Each asserts: no panic; either a refusal with a reason, or a value that
// re-encodes to the same meaning (re-encoded, it is accepted again and
// decodes to the same value). Time is bounded by construction, since every
// input is refused by its length before it is parsed; the fuzzer reports
// an input that hangs its worker.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// financeRow is a JSON finance row: an invoice and its deal.
type financeRow struct {
	DealID string `json:"deal_id"`
	deal.InvoiceSignal
}

// valueOf is a new value of the Go type an input decodes into.
func valueOf(input string) any {
	switch input {
	case "terms":
		return &deal.Terms{}
	case deal.SigSignoff:
		return &deal.SignoffSignal{}
	case deal.SigCommitment:
		return &deal.CommitmentSignal{}
	case deal.SigClose:
		return &deal.CloseSignal{}
	case deal.SigHandover:
		return &deal.HandoverSignal{}
	case deal.SigStage:
		return &deal.StageSignal{}
	case deal.SigIncident:
		return &deal.IncidentSignal{}
	case deal.SigFee:
		return &deal.FeeSignal{}
	case deal.SigInvoice:
		return &deal.InvoiceSignal{}
	case deal.SigChangeOrder:
		return &deal.ChangeOrderSignal{}
	case deal.SigProgress:
		return &deal.ProgressSignal{}
	case "finance":
		return &financeRow{}
	}
	panic("no type for input " + input)
}

// seeds are inputs the review found accepted, valid payloads of
// every signal, and odd shapes.
func seeds() [][2]string {
	terms, _ := json.Marshal(dealtest.Terms("d1", time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)))
	out := [][2]string{
		{"terms", string(terms)},
		{"terms", strings.Replace(string(terms), "target_margin_pct", "target_margin", 1)},
		{"terms", strings.Replace(string(terms), `"currency":"EUR"`, `"currency":"EURO!!"`, 1)},
		{"terms", strings.Replace(string(terms), `"deal_id":"d1"`, `"deal_id":"x?a#b"`, 1)},
		{"terms", strings.Replace(string(terms), `{`, `{"margin_warn_pts":"-5","planned_cost":"1000000000000000",`, 1)},
		{deal.SigChangeOrder, `{"id":"COnpc","amount":"10","planned_cost":"-90000","status":"approved","by":"UAE"}`},
		{deal.SigChangeOrder, `{"id":"CO0","status":"approved","by":"UAE"}`},
		{deal.SigInvoice, `{"invoice_id":"I1","category":"travel","amount":12.5,"currency":"EUR","date":"2026-02-01"}`},
		{deal.SigInvoice, `{"invoice_id":"I1","category":"travel","amount":"1","amount":"2","currency":"EUR","date":"2026-02-01"}`},
		{deal.SigInvoice, `{"invoice_id":"FV/2026/1","category":"license","amount":"-10.5","credit":true,"currency":"USD","fx_rate":"0.9","date":"2026-02-01"}`},
		{deal.SigFee, `{"fee_id":"F1","kind":"invoiced","amount":"1","currency":" eur","date":"2026-02-01"}`},
		{deal.SigCommitment, `{"id":"   ","kind":"date","text":"x","by":"U_AE"}`},
		{deal.SigIncident, "{\"incident_id\":\"i1\",\"severity\":\"minor\",\"status\":\"open\",\"title\":\"M\xfcller\"}"},
		{deal.SigSignoff, `{"ticket":"discovery","by":"U_P","side":"internal","decision":"approve","deliverable":{"kind":"discovery_notes","body":"a\nb","url":"https://x.example/y"}}`},
		{deal.SigHandover, `{"by":"U_PM","signed_off":true,"checklist":{"deliverables_reviewed":true,"commitments_acknowledged":["c1"],"scope_ambiguities":[],"resources_confirmed":true}}`},
		{deal.SigProgress, `{"pct_complete":"1e-400","by":"U_PM"}`},
		{deal.SigProgress, "\ufeff{\"pct_complete\":\"10\",\"by\":\"U_PM\"}"},
		{deal.SigStage, `{"to":"closed_won","by":"U_GM"} {"to":"closed_won"}`},
		{"finance", `{"deal_id":"d1","deal_id":"d2","invoice_id":"I1","category":"travel","amount":"10","currency":"EUR","date":"2026-01-02"}`},
		{"finance", `{"deal_id":"d1","invoice_id":"I1","category":"travel","amount":"10","currency":"JPY","fx_rate":"0.0061","date":"2026-01-02"}`},
		{deal.SigClose, `{"outcome":"won","by":"U_AE","reason":"\u0000"}`},
		{deal.SigClose, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`},
	}
	for _, st := range append(dealtest.ToDelivery(), dealtest.Progress("20"), dealtest.Invoice("INV-1", "travel", "12.50", "2026-02-01")) {
		out = append(out, [2]string{st.Signal, string(st.Payload)})
	}
	return out
}

func FuzzCheckInput(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, input string, payload []byte) {
		if !slices.Contains(deal.Inputs, input) {
			input = deal.Inputs[len(input)%len(deal.Inputs)]
		}
		err := deal.CheckInput(input, payload)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		v := valueOf(input)
		if err := json.Unmarshal(payload, v); err != nil {
			t.Fatalf("CheckInput took a %s that does not decode: %v", input, err)
		}
		again := roundTrip(t, input, v)
		if !reflect.DeepEqual(normal(t, v), normal(t, again)) {
			t.Fatalf("%s changed meaning when re-encoded:\n%+v\n%+v", input, v, again)
		}
	})
}

// roundTrip re-encodes v, checks the JSON again and decodes it anew.
func roundTrip(t *testing.T, input string, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := deal.CheckInput(input, b); err != nil {
		t.Fatalf("the re-encoded %s is refused: %v\n%s", input, err, b)
	}
	again := valueOf(input)
	if err := json.Unmarshal(b, again); err != nil {
		t.Fatal(err)
	}
	return again
}

// normal is a value's JSON as a generic tree, where decimals compare by
// their text as re-encoded: "10.50" and "10.5" are one amount.
func normal(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzApply sends any signal name and payload to a deal in delivery: the
// answer is one of the three, a refusal has its reason and leaves a row,
// and the state stays within its bound.
func FuzzApply(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s[0], []byte(s[1]))
	}
	f.Add("Invoice", []byte(`{"invoice_id":"X"}`))
	f.Fuzz(func(t *testing.T, signal string, payload []byte) {
		d, at := inDelivery(t, "EUR")
		refusals := d.State.Refusals
		res := d.Send(at(), signal, payload)
		switch res.Status {
		case deal.Accepted, deal.Duplicate:
		case deal.Refused:
			if res.Reason == "" || d.State.Refusals != refusals+1 {
				t.Fatalf("refused without a reason or a row: %+v", res)
			}
		default:
			t.Fatalf("answer %+v", res)
		}
		if b, _ := json.Marshal(d.State); len(b) > 192<<10 {
			t.Fatalf("state of %d bytes", len(b))
		}
	})
}

// FuzzTerms reads start terms as the starter does: the JSON checked, then
// decoded and normalized; terms taken re-encode to terms taken.
func FuzzTerms(f *testing.F) {
	for _, s := range seeds() {
		if s[0] == "terms" {
			f.Add([]byte(s[1]))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if deal.CheckInput("terms", b) != nil {
			return
		}
		var terms deal.Terms
		if err := json.Unmarshal(b, &terms); err != nil {
			t.Fatalf("checked terms do not decode: %v", err)
		}
		if terms.Normalize() != nil {
			return
		}
		again := roundTrip(t, "terms", &terms).(*deal.Terms)
		if err := again.Normalize(); err != nil {
			t.Fatalf("normalized terms are refused when sent again: %v", err)
		}
		if !reflect.DeepEqual(normal(t, &terms), normal(t, again)) {
			t.Fatalf("terms changed meaning:\n%+v\n%+v", terms, *again)
		}
	})
}

// FuzzParseInvoicesJSON: a row taken from a JSON file is taken again, the
// same, when re-encoded, and the same row as CSV is taken the same way.
func FuzzParseInvoicesJSON(f *testing.F) {
	for _, s := range seeds() {
		if s[0] == "finance" {
			f.Add([]byte(s[1]))
			f.Add([]byte("[" + s[1] + "," + s[1] + "]"))
		}
	}
	f.Add([]byte("\ufeff[]"))
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, err := deal.ParseInvoicesJSON(body)
		if err == nil {
			rowsReadBack(t, rows)
		}
	})
}

// FuzzParseInvoicesCSV: a row taken from a CSV file is taken again, the
// same, when written out again, and as JSON.
func FuzzParseInvoicesCSV(f *testing.F) {
	f.Add([]byte("deal_id,invoice_id,category,amount,currency,date,supplier,memo,fx_rate,credit\nd1,I1,travel,10.50,EUR,2026-01-02,Initech,\"a, b\",,\n"))
	f.Add([]byte("\ufeffDEAL_ID,invoice_id,category,amount,currency,date,amount\nd1,I1,travel,10,EUR,2026-01-02,20\n"))
	f.Add([]byte("deal_id,invoice_id,category,amount,currency,date,deal_id\nd1,I1,travel,10,EUR,2026-01-02,d2\n"))
	f.Add([]byte("deal_id,invoice_id,category,amount,currency,date,credit,fx_rate\nd1,CN-1,travel,-10,JPY,2026-01-02,true,0.0061\nd1,I 2,travel,1,eur,2026-01-02,,\n"))
	f.Add([]byte("deal_id,invoice_id,category,amount,currency,date,supplier\nd1,I1,travel,10,EUR,2026-01-02,M\xfcller\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, err := deal.ParseInvoicesCSV(bytes.NewReader(body))
		if err == nil {
			rowsReadBack(t, rows)
		}
	})
}

// rowsReadBack wants every refused row to have a reason, and every row
// taken to read back the same written out as CSV and as JSON.
func rowsReadBack(t *testing.T, rows []deal.InvoiceRow) {
	t.Helper()
	for _, r := range rows {
		if r.Err != nil {
			if r.Err.Error() == "" {
				t.Fatal("a row refused without a reason")
			}
			continue
		}
		sameAsCSV(t, r)
		b, _ := json.Marshal(financeRow{DealID: r.DealID, InvoiceSignal: r.Invoice})
		again, err := deal.ParseInvoicesJSON(b)
		if err != nil || len(again) != 1 || again[0].Err != nil || !sameRow(r, again[0]) {
			t.Fatalf("row %+v as JSON %s reads back as %+v, %v", r, b, again, err)
		}
	}
}

// sameAsCSV writes a row taken out as CSV and wants it read back the same.
func sameAsCSV(t *testing.T, r deal.InvoiceRow) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	inv := r.Invoice
	fx, credit := "", ""
	if inv.FXRate != nil {
		fx = inv.FXRate.String()
	}
	if inv.Credit {
		credit = "true"
	}
	_ = w.Write([]string{"deal_id", "invoice_id", "category", "amount", "currency", "date", "supplier", "memo", "fx_rate", "credit"})
	_ = w.Write([]string{r.DealID, inv.InvoiceID, inv.Category, inv.Amount.String(), inv.Currency, inv.Date.String(), inv.Supplier, inv.Memo, fx, credit})
	w.Flush()
	again, err := deal.ParseInvoicesCSV(&buf)
	if err != nil || len(again) != 1 || again[0].Err != nil || !sameRow(r, again[0]) {
		t.Fatalf("row %+v written as CSV %q reads back as %+v, %v", r, buf.String(), again, err)
	}
}

func sameRow(a, b deal.InvoiceRow) bool {
	x, y := a.Invoice, b.Invoice
	fx := (x.FXRate == nil) == (y.FXRate == nil) && (x.FXRate == nil || x.FXRate.Equal(*y.FXRate))
	return a.DealID == b.DealID && x.InvoiceID == y.InvoiceID && x.Category == y.Category && x.Amount.Equal(y.Amount) &&
		x.Currency == y.Currency && x.Date.Equal(y.Date.Time) && x.Supplier == y.Supplier && x.Memo == y.Memo && x.Credit == y.Credit && fx
}

// FuzzCheckEntry checks an invoice or fee as the workflow does before the
// ledger: a refusal has its reason, an entry taken is in the deal's
// currency at its minor unit.
func FuzzCheckEntry(f *testing.F) {
	for _, s := range seeds() {
		if s[0] == deal.SigInvoice || s[0] == deal.SigFee {
			f.Add(s[0] == deal.SigFee, []byte(s[1]))
		}
	}
	f.Fuzz(func(t *testing.T, fee bool, payload []byte) {
		d, at := inDelivery(t, "JPY")
		signal := deal.SigInvoice
		if fee {
			signal = deal.SigFee
		}
		e, err := d.State.CheckEntry(at(), signal, payload)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		amount := e.Fee
		if e.Invoice != nil {
			if !e.Invoice.DealAmount.Equal(e.Invoice.DealAmount.Round(0)) {
				t.Fatalf("a yen deal took %s yen", e.Invoice.DealAmount)
			}
			return
		}
		if amount == nil || !amount.Amount.Equal(amount.Amount.Round(0)) || amount.Currency != "JPY" {
			t.Fatalf("fee %+v", amount)
		}
	})
}
