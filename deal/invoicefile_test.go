package deal_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"dealflow/deal"
)

// rowView is a parsed row reduced to what the tests look at.
type rowView struct {
	Row                                  int
	DealID, InvoiceID                    string
	Category, Amount, Currency, Date, FX string
	Supplier, Memo                       string
	Credit                               bool
	Err                                  string // prefix of the row's error; "" when it reads
}

func viewRows(rows []deal.InvoiceRow, errPrefixLen map[int]int) []rowView {
	var out []rowView
	for _, r := range rows {
		v := rowView{Row: r.Row, DealID: r.DealID, InvoiceID: r.Invoice.InvoiceID}
		if r.Err != nil {
			v.Err = r.Err.Error()
			if n, ok := errPrefixLen[r.Row]; ok && len(v.Err) > n {
				v.Err = v.Err[:n]
			}
		} else {
			s := r.Invoice
			v.Category, v.Amount, v.Currency, v.Date = s.Category, s.Amount.String(), s.Currency, s.Date.String()
			v.Supplier, v.Memo, v.Credit = s.Supplier, s.Memo, s.Credit
			if s.FXRate != nil {
				v.FX = s.FXRate.String()
			}
		}
		out = append(out, v)
	}
	return out
}

func TestParseInvoicesCSV(t *testing.T) {
	// Columns in another order than documented, a byte-order mark and
	// upper case in the header (what spreadsheet exports do), quoted
	// fields with commas, blank fx_rate and credit cells.
	csv := "\ufeffInvoice_ID,DEAL_ID,amount,currency,date,category,fx_rate,credit,memo,supplier\n" +
		"INV-1,d1,12000.50,EUR,2026-01-10,subcontractor,,,\"Sprint 1, week 2\",Initech\n" +
		"INV-2,d1,1000,USD,2026-01-11,license,0.9123,false,,Globex Soft\n" +
		"CN-1,d1,-500,EUR,2026-01-12,subcontractor,,TRUE,refund,Initech\n" +
		"INV-3,d1,12.x,EUR,2026-01-12,travel,,,,\n" +
		"INV-4,d1,10,EUR,2026-13-01,travel,,,,\n" +
		"INV-5,d1,10,EUR,2026-01-12,travel,,yes,,\n" +
		"INV-6,d1,10,USD,2026-01-12,travel,abc,,,\n" +
		"INV-7,,10,EUR,2026-01-12,travel,,,,\n" +
		"INV-8,d2,10,EUR,2026-01-12,travel\n" +
		"INV-9,d1,1\"0,EUR,2026-01-12,travel,,,,\n" +
		"INV-10,d2,0.01,EUR,2026-01-31,internal,,,,\n" +
		// Cells are taken as written: the same rules as in JSON.
		"INV-11,d1,10,usd,2026-01-12,travel,1,,,\n" +
		"INV-12,d1,10,EUR ,2026-01-12,travel,,,,\n" +
		"INV-13,d1,10,EUR,2026-01-12,travel,,yes,,\n" +
		"INV-14,d1,10,EUR,2026-01-12,travel,,,,M\xfcller\n" +
		"INV 15,d1,10,EUR,2026-01-12,travel,,,,\n"
	rows, err := deal.ParseInvoicesCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	got := viewRows(rows, map[int]int{10: len("unreadable CSV line")})
	want := []rowView{
		{Row: 1, DealID: "d1", InvoiceID: "INV-1", Category: "subcontractor", Amount: "12000.5", Currency: "EUR", Date: "2026-01-10", Supplier: "Initech", Memo: "Sprint 1, week 2"},
		{Row: 2, DealID: "d1", InvoiceID: "INV-2", Category: "license", Amount: "1000", Currency: "USD", Date: "2026-01-11", FX: "0.9123", Supplier: "Globex Soft"},
		{Row: 3, DealID: "d1", InvoiceID: "CN-1", Category: "subcontractor", Amount: "-500", Currency: "EUR", Date: "2026-01-12", Supplier: "Initech", Memo: "refund", Credit: true},
		{Row: 4, DealID: "d1", InvoiceID: "INV-3", Err: `amount "12.x" is not a decimal: write an optional -, digits and optionally . and more digits, such as "1250.50"`},
		{Row: 5, DealID: "d1", InvoiceID: "INV-4", Err: `date "2026-13-01" is not a date of the form YYYY-MM-DD`},
		{Row: 6, DealID: "d1", InvoiceID: "INV-5", Err: `credit must be true, false or empty, not "yes"`},
		{Row: 7, DealID: "d1", InvoiceID: "INV-6", Err: `fx_rate "abc" is not a decimal: write digits and optionally . and more digits, such as "1250.50"`},
		{Row: 8, InvoiceID: "INV-7", Err: "deal_id is required"},
		// A short row: the optional columns are just empty.
		{Row: 9, DealID: "d2", InvoiceID: "INV-8", Category: "travel", Amount: "10", Currency: "EUR", Date: "2026-01-12"},
		// A stray quote spoils its line only; the next one is read.
		{Row: 10, Err: "unreadable CSV line"},
		{Row: 11, DealID: "d2", InvoiceID: "INV-10", Category: "internal", Amount: "0.01", Currency: "EUR", Date: "2026-01-31"},
		{Row: 12, DealID: "d1", InvoiceID: "INV-11", Err: `currency "usd" is not an ISO 4217 currency code (three capitals, such as EUR)`},
		{Row: 13, DealID: "d1", InvoiceID: "INV-12", Err: `currency "EUR " is not an ISO 4217 currency code (three capitals, such as EUR)`},
		{Row: 14, DealID: "d1", InvoiceID: "INV-13", Err: `credit must be true, false or empty, not "yes"`},
		{Row: 15, DealID: "d1", InvoiceID: "INV-14", Err: `supplier is not valid UTF-8; save the file as UTF-8`},
		{Row: 16, DealID: "d1", InvoiceID: "INV 15", Err: `invoice_id "INV 15" is not an id: ids start with a letter or digit and hold only A-Z a-z 0-9 . _ - : /`},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d\n got %+v\nwant %+v", i+1, got[i], want[i])
		}
	}
}

func TestParseInvoicesCSVWholeFileErrors(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"empty", "", "reading the CSV header: EOF"},
		{"missing columns", "deal_id,invoice_id,category,amount\nd1,I1,travel,10\n", "CSV header lacks required column(s) currency, date"},
		{"unknown column", "deal_id,invoice_id,category,amount,currency,date,amount_eur\n",
			`CSV header has unknown column "amount_eur"; columns are deal_id, invoice_id, category, amount, currency, date, supplier, memo, fx_rate, credit`},
		// A column twice would have the last copy win; a second deal_id
		// would send the row to another deal.
		{"a column twice", "deal_id,invoice_id,category,amount,currency,date,amount\nd1,I1,travel,10,EUR,2026-01-01,90000\n",
			"CSV header names the column amount twice (columns 4 and 7)"},
		{"deal_id twice, in other cases", "deal_id,invoice_id,category,amount,currency,date,DEAL_ID\nd1,I1,travel,10,EUR,2026-01-01,d2\n",
			"CSV header names the column deal_id twice (columns 1 and 7)"},
		{"not a CSV at all", `{"deal_id":"d1"}`, `reading the CSV header: parse error on line 1, column 2: bare " in non-quoted-field`},
		{"an unclosed quote swallowing later rows",
			"deal_id,invoice_id,category,amount,currency,date\nd1,I1,travel,10,EUR,2026-01-01\nd1,\"I2,travel,10,EUR,2026-01-01\nd1,I3,travel,10,EUR,2026-01-01\nd1,I4,travel,10,EUR,2026-01-01\n",
			"CSV line 3 opens a quote that is never closed (the parser ran on to line 5); fix the file and send it again"},
	}
	for _, c := range cases {
		_, err := deal.ParseInvoicesCSV(strings.NewReader(c.body))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}

	// A header alone is a file with no invoices, not an error.
	rows, err := deal.ParseInvoicesCSV(strings.NewReader("deal_id,invoice_id,category,amount,currency,date\n"))
	if err != nil || len(rows) != 0 {
		t.Errorf("header only: %d rows, %v", len(rows), err)
	}

	// A reader that fails keeps failing; the parser must stop (before the
	// fix it appended one unreadable row per call, forever).
	broken := io.MultiReader(strings.NewReader("deal_id,invoice_id,category,amount,currency,date\nd1,I1,travel,10,EUR,2026-01-01\n"),
		iotest.ErrReader(errors.New("disk gone")))
	if _, err := deal.ParseInvoicesCSV(broken); err == nil || err.Error() != "reading the CSV: disk gone" {
		t.Errorf("failing reader: %v", err)
	}
}

func TestParseInvoicesJSON(t *testing.T) {
	// One object, after a byte-order mark.
	rows, err := deal.ParseInvoicesJSON([]byte("\ufeff" + ` {"deal_id":"d1","invoice_id":"I1","category":"travel","amount":"12.5","currency":"EUR","date":"2026-01-02","memo":"taxi"}`))
	if err != nil {
		t.Fatal(err)
	}
	got := viewRows(rows, nil)
	want := []rowView{{Row: 1, DealID: "d1", InvoiceID: "I1", Category: "travel", Amount: "12.5", Currency: "EUR", Date: "2026-01-02", Memo: "taxi"}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("single object\n got %+v\nwant %+v", got, want)
	}

	// An array: each element stands alone.
	rows, err = deal.ParseInvoicesJSON([]byte(`[
		{"deal_id":"d1","invoice_id":"I2","category":"license","amount":"1000","currency":"USD","fx_rate":"0.9123","date":"2026-01-02"},
		{"deal_id":"d1","invoice_id":"I3","category":"travel","amout":"10","currency":"EUR","date":"2026-01-02"},
		{"deal_id":"d2","invoice_id":"I4","category":"travel","amount":"12.x","currency":"EUR","date":"2026-01-02"},
		{"invoice_id":"I5","category":"travel","amount":"10","currency":"EUR","date":"2026-01-02"},
		{"deal_id":"d1","invoice_id":"I6","category":"travel","amount":"-10","credit":true,"currency":"EUR","date":"2026-01-02"},
		{"deal_id":"d1","invoice_id":"I7","category":"travel","amount":"10","currency":"EUR","date":"02/01/2026"},
		42,
		{"deal_id":"d1","invoice_id":"I8","category":"travel","amount":12.5,"currency":"EUR","date":"2026-01-02"},
		{"deal_id":"d1","invoice_id":"I9","category":"travel","amount":"10","amount":"1000","currency":"EUR","date":"2026-01-02"},
		{"deal_id":"d1","deal_id":"d2","invoice_id":"I10","category":"travel","amount":"10","currency":"EUR","date":"2026-01-02"}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	got = viewRows(rows, nil)
	want = []rowView{
		{Row: 1, DealID: "d1", InvoiceID: "I2", Category: "license", Amount: "1000", Currency: "USD", Date: "2026-01-02", FX: "0.9123"},
		// A typo in a field name is refused, not half-read; the ids are
		// kept for the answer.
		{Row: 2, DealID: "d1", InvoiceID: "I3", Err: `an invoice row has no field "amout"; its fields are deal_id, invoice_id, category, amount, currency, date, supplier, memo, fx_rate, credit`},
		{Row: 3, DealID: "d2", InvoiceID: "I4", Err: `amount "12.x" is not a decimal: write an optional -, digits and optionally . and more digits, such as "1250.50"`},
		{Row: 4, InvoiceID: "I5", Err: "deal_id is required"},
		{Row: 5, DealID: "d1", InvoiceID: "I6", Category: "travel", Amount: "-10", Currency: "EUR", Date: "2026-01-02", Credit: true},
		{Row: 6, DealID: "d1", InvoiceID: "I7", Err: `date "02/01/2026" is not a date of the form YYYY-MM-DD`},
		{Row: 7, Err: "an invoice row must be one JSON object"},
		// Money is a decimal string; a repeated key is refused, not read
		// as its last value (a second deal_id would move the row).
		{Row: 8, DealID: "d1", InvoiceID: "I8", Err: `amount must be a decimal string such as "12.50", not the JSON number 12.5`},
		{Row: 9, DealID: "d1", InvoiceID: "I9", Err: `an invoice row holds the field "amount" twice`},
		{Row: 10, DealID: "d2", InvoiceID: "I10", Err: `an invoice row holds the field "deal_id" twice`},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d\n got %+v\nwant %+v", i+1, got[i], want[i])
		}
	}

	if rows, err := deal.ParseInvoicesJSON([]byte(" [ ] ")); err != nil || len(rows) != 0 {
		t.Errorf("empty array: %d rows, %v", len(rows), err)
	}
	// Bodies that cannot be read at all fail as a whole.
	for _, body := range []string{"", "hello", `"INV-1"`, `[{"deal_id":"d1"`, `{"deal_id":"d1","invoice_id":`, `{"deal_id":"d1"} {"deal_id":"d2"}`} {
		if _, err := deal.ParseInvoicesJSON([]byte(body)); err == nil {
			t.Errorf("%q parsed without error", body)
		}
	}
}

// TestFileLimits: a file of exactly MaxRows rows is read, one more is
// refused whole with the limit in words, in CSV and JSON alike; a line
// past MaxLine is refused before it is split into cells.
func TestFileLimits(t *testing.T) {
	lim := deal.FileLimits{MaxRows: 3, MaxLine: 64}
	header := "deal_id,invoice_id,category,amount,currency,date\n"
	tooLarge := func(what string, err error, want string) {
		t.Helper()
		var e *deal.TooLargeError
		if !errors.As(err, &e) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a TooLargeError saying %q", what, err, want)
		}
	}
	if rows, err := deal.ReadInvoicesCSV(strings.NewReader(header+strings.Repeat(",\n", 3)), lim); err != nil || len(rows) != 3 {
		t.Errorf("3 CSV rows at a limit of 3: %d rows, %v", len(rows), err)
	}
	_, err := deal.ReadInvoicesCSV(strings.NewReader(header+strings.Repeat(",\n", 4)), lim)
	tooLarge("4 CSV rows", err, "more than 3 rows")
	_, err = deal.ReadInvoicesCSV(strings.NewReader(header+strings.Repeat(",", 65)+"\n"), lim)
	tooLarge("a long CSV line", err, "longer than 64 bytes")
	_, err = deal.ReadInvoicesCSV(strings.NewReader(strings.Repeat(",", 65)+"\n"), lim)
	tooLarge("a long CSV header", err, "longer than 64 bytes")
	if rows, err := deal.ReadInvoicesJSON(strings.NewReader("[{},{},{}]"), lim); err != nil || len(rows) != 3 {
		t.Errorf("3 JSON rows at a limit of 3: %d rows, %v", len(rows), err)
	}
	_, err = deal.ReadInvoicesJSON(strings.NewReader("[{},{},{},{}]"), lim)
	tooLarge("4 JSON rows", err, "more than 3 rows")
	big := deal.FileLimits{MaxRows: 100000}
	_, err = deal.ReadInvoicesCSV(strings.NewReader(header+strings.Repeat(",\n", 100001)), big)
	tooLarge("100,001 rows", err, "more than 100,000 rows, the most one file may have; split it")
}
