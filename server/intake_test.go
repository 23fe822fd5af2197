package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/intake"
	"dealflow/workflows"
)

const financeToken = "fin-test-token-3f9a-0123456789abcdef"

// postIntake posts body to the intake and returns the status and body.
func postIntake(t *testing.T, s *Server, path, auth, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.Addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusNotFound && ct != "application/json" {
		t.Errorf("POST %s answered %d with Content-Type %q, want application/json", path, resp.StatusCode, ct)
	}
	return resp.StatusCode, b
}

// intakeOK posts and decodes the per-row answer, failing unless it is 200.
func intakeOK(t *testing.T, s *Server, path, body string) IntakeAnswer {
	t.Helper()
	code, b := postIntake(t, s, path, "Bearer "+financeToken, body)
	if code != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, code, b)
	}
	var ans IntakeAnswer
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ans); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return ans
}

// wantRow is one expected outcome; reason is matched as a prefix, since
// decoding errors carry the decoder's own wording after ours.
type wantRow struct {
	row                  int
	dealID, invoiceID    string
	status, reasonPrefix string
}

func checkAnswer(t *testing.T, what string, ans IntakeAnswer, want []wantRow) {
	t.Helper()
	acc, dup, ref := 0, 0, 0
	for _, w := range want {
		switch w.status {
		case deal.Accepted:
			acc++
		case deal.Duplicate:
			dup++
		default:
			ref++
		}
	}
	if ans.Accepted != acc || ans.Duplicate != dup || ans.Refused != ref {
		t.Errorf("%s: counts %d/%d/%d, want accepted %d, duplicate %d, refused %d", what, ans.Accepted, ans.Duplicate, ans.Refused, acc, dup, ref)
	}
	if len(ans.Rows) != len(want) {
		t.Fatalf("%s: %d rows answered, want %d: %+v", what, len(ans.Rows), len(want), ans.Rows)
	}
	for i, w := range want {
		g := ans.Rows[i]
		if g.Row != w.row || g.DealID != w.dealID || g.InvoiceID != w.invoiceID || g.Status != w.status ||
			!strings.HasPrefix(g.Reason, w.reasonPrefix) || (w.reasonPrefix == "" && g.Reason != "") {
			t.Errorf("%s row %d:\n got %+v\nwant %+v", what, w.row, g, w)
		}
	}
}

// costsAgree checks that the workflow's running totals, the deal read back
// from PostgreSQL (its invoices and its margin) and a plain SUM over
// cost_invoices say the same, to the cent, once PostgreSQL has caught up.
func costsAgree(t *testing.T, s *Server, dealID, wantTotal string, wantInvoices []string) (*deal.Record, *workflows.Status) {
	t.Helper()
	ctx := context.Background()
	rec, st := stored(t, s, dealID)
	if got := st.Deal.Margin.ActualCost.StringFixed(2); got != wantTotal || st.Deal.Ledger.Invoices != int64(len(wantInvoices)) {
		t.Errorf("%s: workflow counts %d invoices costing %s, want %d costing %s", dealID, st.Deal.Ledger.Invoices, got, len(wantInvoices), wantTotal)
	}
	var ids []string
	for _, inv := range rec.Invoices {
		ids = append(ids, inv.InvoiceID)
	}
	if !reflect.DeepEqual(ids, wantInvoices) || rec.InvoicesTotal != int64(len(wantInvoices)) {
		t.Errorf("%s: PostgreSQL holds invoices %v (%d in all), want %v", dealID, ids, rec.InvoicesTotal, wantInvoices)
	}
	if got := rec.Margin.ActualCost.StringFixed(2); got != wantTotal {
		t.Errorf("%s: PostgreSQL's actual cost %s, want %s", dealID, got, wantTotal)
	}
	var sum decimal.Decimal
	var n int
	if err := s.Pool.QueryRow(ctx, "SELECT coalesce(sum(deal_amount), 0), count(*) FROM cost_invoices WHERE deal_id = $1", dealID).Scan(&sum, &n); err != nil {
		t.Fatal(err)
	}
	if sum.StringFixed(2) != wantTotal || n != len(wantInvoices) {
		t.Errorf("%s: cost_invoices holds %d invoices summing to %s, want %d summing to %s", dealID, n, sum.StringFixed(2), len(wantInvoices), wantTotal)
	}
	return rec, st
}

// TestFinanceIntake posts finance files to the real HTTP endpoint of a
// running worker and checks the per-row answer against what the workflows
// and PostgreSQL then hold.
func TestFinanceIntake(t *testing.T) {
	s := startServer(t, func(c *Config) { c.FinanceToken = financeToken })
	// The dev server is shared by the package's tests (and by repeated
	// runs), so the deal ids carry this server's own suffix.
	sfx := strings.TrimPrefix(s.TaskQueue(), "deals-test-")
	finA, finB := "fin-a-"+sfx, "fin-b-"+sfx
	today := time.Now()
	openDeal(t, s, dealtest.Terms(finA, today))
	openDeal(t, s, dealtest.Terms(finB, today))
	// A is in delivery, so each invoice also runs a margin check;
	// B stays in discovery: invoices are taken at any open stage.
	send(t, s, finA, dealtest.ToDelivery()...)

	// One JSON object first.
	ans := intakeOK(t, s, "/api/invoices",
		`{"deal_id":"`+finA+`","invoice_id":"INV-100","category":"travel","amount":"99.99","currency":"EUR","date":"2026-01-09","supplier":"Lufthansa"}`)
	checkAnswer(t, "single JSON object", ans, []wantRow{{row: 1, dealID: finA, invoiceID: "INV-100", status: deal.Accepted}})
	// The answer comes once the invoice is in the ledger and the margin
	// checked with it: one check at handover, one for the invoice.
	_, stA := costsAgree(t, s, finA, "99.99", []string{"INV-100"})
	if stA.Deal.MarginChecks != 2 {
		t.Errorf("%s: %d margin checks, want one at handover and one for the invoice (2)", finA, stA.Deal.MarginChecks)
	}

	// The CSV: good rows, duplicates and bad rows mixed, as an export
	// would have them.
	csv := "deal_id,invoice_id,category,amount,currency,date,supplier,memo,fx_rate,credit\n" +
		finA + ",INV-1,subcontractor,12000.50,EUR,2026-01-10,Initech,\"Sprint 1, week 2\",,\n" + // 1 accepted
		finA + ",INV-2,license,1000,USD,2026-01-11,Globex Soft,,0.9123,\n" + // 2 accepted: 912.30 EUR
		finA + ",CN-1,subcontractor,500,EUR,2026-01-12,Initech,refund,,true\n" + // 3 accepted: -500
		finA + ",INV-1,subcontractor,12000.50,EUR,2026-01-10,Initech,\"Sprint 1, week 2\",,\n" + // 4 same id, same content
		finA + ",INV-100,travel,99.99,EUR,2026-01-09,Lufthansa,,,\n" + // 5 sent before as JSON
		finA + ",INV-2,license,1100,USD,2026-01-11,Globex Soft,,0.9123,\n" + // 6 same id, other amount
		finA + ",INV-4,travel,12.x,EUR,2026-01-12,,,,\n" + // 7 malformed amount
		finA + ",INV-5,travel,0,EUR,2026-01-12,,,,\n" + // 8 zero
		finA + ",INV-6,license,300,USD,2026-01-12,,,,\n" + // 9 USD without fx_rate
		"nope,INV-7,travel,10,EUR,2026-01-12,,,,\n" + // 10 unknown deal
		finA + ",INV-8,travel,-20,EUR,2026-01-12,,,,\n" + // 11 negative, not a credit note
		finB + ",INV-1,internal,250.25,EUR,2026-01-13,,,,\n" // 12 accepted: another deal's INV-1
	wantCSV := []wantRow{
		{row: 1, dealID: finA, invoiceID: "INV-1", status: deal.Accepted},
		{row: 2, dealID: finA, invoiceID: "INV-2", status: deal.Accepted},
		{row: 3, dealID: finA, invoiceID: "CN-1", status: deal.Accepted},
		{row: 4, dealID: finA, invoiceID: "INV-1", status: deal.Duplicate},
		{row: 5, dealID: finA, invoiceID: "INV-100", status: deal.Duplicate},
		{row: 6, dealID: finA, invoiceID: "INV-2", status: deal.Refused,
			reasonPrefix: "invoice INV-2 is already recorded with other content (amount 1000 USD); send a credit note or use a new invoice_id"},
		{row: 7, dealID: finA, invoiceID: "INV-4", status: deal.Refused, reasonPrefix: `amount "12.x" is not a decimal`},
		{row: 8, dealID: finA, invoiceID: "INV-5", status: deal.Refused, reasonPrefix: "amount must not be zero"},
		{row: 9, dealID: finA, invoiceID: "INV-6", status: deal.Refused, reasonPrefix: "invoice is in USD but the deal is in EUR: fx_rate is required"},
		{row: 10, dealID: "nope", invoiceID: "INV-7", status: deal.Refused, reasonPrefix: "unknown deal nope"},
		{row: 11, dealID: finA, invoiceID: "INV-8", status: deal.Refused,
			reasonPrefix: `amount -20 is negative: a negative amount is allowed only on a credit note ("credit": true)`},
		{row: 12, dealID: finB, invoiceID: "INV-1", status: deal.Accepted},
	}
	ans = intakeOK(t, s, "/api/invoices.csv", csv)
	checkAnswer(t, "CSV", ans, wantCSV)

	// A: 99.99 + 12,000.50 + 1,000 USD * 0.9123 (= 912.30) - 500 = 12,512.79.
	recA, stA := costsAgree(t, s, finA, "12512.79", []string{"INV-100", "INV-1", "INV-2", "CN-1"})
	costsAgree(t, s, finB, "250.25", []string{"INV-1"})
	// The conflicting INV-2 is reported on the deal too; rows the intake
	// refused before sending (bad amount, zero, no fx_rate, negative)
	// never reach it.
	if len(recA.Refusals) != 1 || !strings.HasPrefix(recA.Refusals[0].Reason, "invoice INV-2 is already recorded") {
		t.Errorf("%s refusals %+v, want only the INV-2 conflict", finA, recA.Refusals)
	}
	// The margin is checked once per ledger batch, with every invoice of
	// the batch in it: a file's rows for one deal are one batch, so the
	// file added one check, and the newest snapshot holds the whole cost.
	if stA.Deal.MarginChecks != 3 {
		t.Errorf("%s: %d margin checks, want one at handover, one for the JSON invoice and one for the file (3)", finA, stA.Deal.MarginChecks)
	}
	var snapCost decimal.Decimal
	if err := s.Pool.QueryRow(context.Background(), "SELECT actual_cost FROM margin_snapshots WHERE deal_id = $1 ORDER BY seq DESC LIMIT 1", finA).Scan(&snapCost); err != nil ||
		snapCost.StringFixed(2) != "12512.79" {
		t.Errorf("%s: the newest margin snapshot has an actual cost of %s (%v), want 12512.79", finA, snapCost, err)
	}

	// Finance re-sends the same file (a retry after a timeout): every
	// good row is now a duplicate, nothing is counted twice.
	again := make([]wantRow, len(wantCSV))
	copy(again, wantCSV)
	for i := range again {
		if again[i].status == deal.Accepted {
			again[i].status = deal.Duplicate
		}
	}
	ans = intakeOK(t, s, "/api/invoices.csv", csv)
	checkAnswer(t, "CSV re-sent", ans, again)
	costsAgree(t, s, finA, "12512.79", []string{"INV-100", "INV-1", "INV-2", "CN-1"})

	// A JSON array: the good element is taken, the one with a typo is
	// refused on its own.
	ans = intakeOK(t, s, "/api/invoices", `[
		{"deal_id":"`+finB+`","invoice_id":"INV-9","category":"travel","amount":"10.10","currency":"EUR","date":"2026-01-14"},
		{"deal_id":"`+finB+`","invoice_id":"INV-10","category":"travel","amout":"5","currency":"EUR","date":"2026-01-14"}
	]`)
	checkAnswer(t, "JSON array", ans, []wantRow{
		{row: 1, dealID: finB, invoiceID: "INV-9", status: deal.Accepted},
		{row: 2, dealID: finB, invoiceID: "INV-10", status: deal.Refused, reasonPrefix: `an invoice row has no field "amout"`},
	})
	costsAgree(t, s, finB, "260.35", []string{"INV-1", "INV-9"})

	// Bodies that cannot be read at all: one clear error, nothing sent.
	for _, c := range []struct{ path, body, want string }{
		{"/api/invoices", "deal_id,invoice_id\n", "body must be one JSON invoice object or an array of them"},
		{"/api/invoices", `{"deal_id":"` + finB + `","invoice_id":"INV-11",`, "body is not valid JSON: expected one invoice object or an array of them"},
		{"/api/invoices.csv", "deal_id,invoice_id,category,amount\n" + finB + ",INV-12,travel,1\n", "CSV header lacks required column(s) currency, date"},
	} {
		code, b := postIntake(t, s, c.path, "Bearer "+financeToken, c.body)
		var e struct{ Error string }
		if err := json.Unmarshal(b, &e); err != nil || code != http.StatusBadRequest || e.Error != c.want {
			t.Errorf("POST %s %q: %d %s, want 400 with error %q", c.path, c.body, code, b, c.want)
		}
	}

	// Over a limit: see TestFinanceIntakeCaps.

	// Without the token, or with a wrong one: 401 and nothing taken.
	good := "deal_id,invoice_id,category,amount,currency,date\n" + finB + ",INV-13,travel,1,EUR,2026-01-15\n"
	for _, auth := range []string{"", "Bearer ", "Bearer wrong", "Bearer " + financeToken + "x", "Basic " + financeToken, financeToken} {
		code, b := postIntake(t, s, "/api/invoices.csv", auth, good)
		var e struct{ Error string }
		if code != http.StatusUnauthorized || json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Errorf("Authorization %q: %d %s, want 401 with an error", auth, code, b)
		}
		if strings.Contains(string(b), financeToken) {
			t.Errorf("the 401 answer shows the token: %s", b)
		}
	}
	// The scheme is case-insensitive.
	code, b := postIntake(t, s, "/api/invoices.csv", "bearer "+financeToken, good)
	if code != http.StatusOK {
		t.Errorf("lower-case scheme: %d %s", code, b)
	}
	costsAgree(t, s, finB, "261.35", []string{"INV-1", "INV-9", "INV-13"})
}

// TestFinanceIntakeOffWithoutToken: with FINANCE_API_TOKEN unset the
// endpoints do not exist, whatever is sent.
// TestFinanceIntakeCaps: a file past a limit (bytes, rows, one line's
// length) is answered 413 with the limit in words, whichever limit it
// passes first, in CSV and JSON; nothing of it is taken.
func TestFinanceIntakeCaps(t *testing.T) {
	s := startServer(t, func(c *Config) { c.FinanceToken = financeToken })
	header := "deal_id,invoice_id,category,amount,currency,date\n"
	// 90,000 rows of 400 bytes: under the row limit, over 32 MiB.
	wide := "d1,INV-WIDE,travel,1,EUR,2026-01-15"
	wide += strings.Repeat(" ", 399-len(wide)) + "\n"
	for _, c := range []struct{ name, path, body, want string }{
		{"bytes", "/api/invoices.csv", header + strings.Repeat(wide, 90_000), "the file is larger than 32 MiB, the most one file may be; split it (at most 100,000 rows a file)"},
		{"CSV rows of empty cells", "/api/invoices.csv", header + strings.Repeat(",\n", MaxIntakeRows+1), "the file has more than 100,000 rows, the most one file may have; split it into files of at most 100,000 rows"},
		{"JSON rows of empty objects", "/api/invoices", "[" + strings.Repeat("{},", MaxIntakeRows) + "{}]", "the file has more than 100,000 rows"},
		{"one line of empty cells", "/api/invoices.csv", header + strings.Repeat(",", 1<<20) + "\n", "a line of the file is longer than 65,536 bytes, the most one line may have"},
	} {
		code, b := postIntake(t, s, c.path, "Bearer "+financeToken, c.body)
		var e struct{ Error string }
		if err := json.Unmarshal(b, &e); err != nil || code != http.StatusRequestEntityTooLarge || !strings.HasPrefix(e.Error, c.want) {
			t.Errorf("%s (%d bytes): %d %.300s, want 413 saying %q", c.name, len(c.body), code, b, c.want)
		}
	}
	var jobs, rows int
	if err := s.Pool.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM intake_jobs), (SELECT count(*) FROM intake_rows)").Scan(&jobs, &rows); err != nil {
		t.Fatal(err)
	}
	if jobs != 0 || rows != 0 {
		t.Errorf("refused files left %d jobs and %d rows", jobs, rows)
	}
}

func TestFinanceIntakeOffWithoutToken(t *testing.T) {
	s := startServer(t, nil)
	for _, path := range []string{"/api/invoices", "/api/invoices.csv"} {
		for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
			if code, b := postIntake(t, s, path, auth, `{"deal_id":"x"}`); code != http.StatusNotFound {
				t.Errorf("POST %s (Authorization %q) with no token configured: %d %s, want 404", path, auth, code, b)
			}
		}
	}
}

// TestFinanceIntakeJob: a file larger than intake.SyncRows is taken as a
// job, answered 202 with where to ask; once done the job answers every row
// as a small file's answer would, and the deal took each invoice once.
func TestFinanceIntakeJob(t *testing.T) {
	s := startServer(t, func(c *Config) { c.FinanceToken = financeToken })
	sfx := strings.TrimPrefix(s.TaskQueue(), "deals-test-")
	id := "job-" + sfx
	openDeal(t, s, dealtest.Terms(id, time.Now()))

	// Rows: new invoices, some repeated later in the file (same content,
	// a duplicate whether in the same batch or not), one unreadable
	// amount and one unknown deal.
	n := intake.SyncRows + 150
	var csv strings.Builder
	csv.WriteString("deal_id,invoice_id,category,amount,currency,date\n")
	want := make([]wantRow, 0, n)
	total := decimal.Zero
	accepted := 0
	for row := 1; row <= n; row++ {
		w := wantRow{row: row, dealID: id, invoiceID: fmt.Sprintf("J-%d", row), status: deal.Accepted}
		amount := fmt.Sprintf("%d.%02d", 10+row%90, row%100)
		switch {
		case row == 7:
			amount, w.status, w.reasonPrefix = "1.x", deal.Refused, `amount "1.x" is not a decimal`
		case row == 11:
			w.dealID, w.status, w.reasonPrefix = "nope-"+sfx, deal.Refused, "unknown deal nope-"+sfx
		case row%100 == 0:
			// the invoice of 60 rows before (or of 560: in another batch)
			back := 60
			if row%200 == 0 && row > 560 {
				back = 560
			}
			w.invoiceID, w.status = fmt.Sprintf("J-%d", row-back), deal.Duplicate
			amount = fmt.Sprintf("%d.%02d", 10+(row-back)%90, (row-back)%100)
		}
		if w.status == deal.Accepted {
			total = total.Add(decimal.RequireFromString(amount))
			accepted++
		}
		fmt.Fprintf(&csv, "%s,%s,subcontractor,%s,EUR,2026-01-10\n", w.dealID, w.invoiceID, amount)
		want = append(want, w)
	}

	job := postJob(t, s, csv.String(), n)
	got := waitJob(t, s, job)
	checkJob(t, "job", got, want)
	rec, st := stored(t, s, id)
	var sum decimal.Decimal
	var nRows int64
	if err := s.Pool.QueryRow(context.Background(), "SELECT coalesce(sum(deal_amount), 0), count(*) FROM cost_invoices WHERE deal_id = $1", id).Scan(&sum, &nRows); err != nil {
		t.Fatal(err)
	}
	if st.Deal.Ledger.Invoices != int64(accepted) || rec.InvoicesTotal != int64(accepted) || nRows != int64(accepted) ||
		!st.Deal.Margin.ActualCost.Equal(total) || !sum.Equal(total) {
		t.Fatalf("workflow %d invoices costing %s, PostgreSQL %d (%d rows) summing %s; want %d costing %s",
			st.Deal.Ledger.Invoices, st.Deal.Margin.ActualCost, rec.InvoicesTotal, nRows, sum, accepted, total)
	}
	if len(rec.Invoices) != deal.MaxInvoicesShown {
		t.Errorf("the deal read back shows %d invoices, want the newest %d", len(rec.Invoices), deal.MaxInvoicesShown)
	}

	// The same file again is another job: every invoice it took before is
	// now a duplicate, and nothing is counted twice.
	again := make([]wantRow, len(want))
	copy(again, want)
	for i := range again {
		if again[i].status == deal.Accepted {
			again[i].status = deal.Duplicate
		}
	}
	job2 := postJob(t, s, csv.String(), n)
	if job2.JobID == job.JobID {
		t.Fatalf("the second file got the first one's job id %s", job.JobID)
	}
	checkJob(t, "job re-sent", waitJob(t, s, job2), again)
	if _, st := stored(t, s, id); st.Deal.Ledger.Invoices != int64(accepted) || !st.Deal.Margin.ActualCost.Equal(total) {
		t.Fatalf("after the file again: %d invoices costing %s, want %d costing %s", st.Deal.Ledger.Invoices, st.Deal.Margin.ActualCost, accepted, total)
	}

	// The status needs the finance token, and names only jobs that exist.
	if code, b := getJob(t, s, job.StatusURL, ""); code != http.StatusUnauthorized {
		t.Errorf("job status without the token: %d %s, want 401", code, b)
	}
	if code, b := getJob(t, s, "/api/invoices/jobs/no-such-job", "Bearer "+financeToken); code != http.StatusNotFound {
		t.Errorf("status of an unknown job: %d %s, want 404", code, b)
	}
}

func postJob(t *testing.T, s *Server, csv string, rows int) JobAccepted {
	t.Helper()
	code, b := postIntake(t, s, "/api/invoices.csv", "Bearer "+financeToken, csv)
	if code != http.StatusAccepted {
		t.Fatalf("a %d-row file: %d %s, want 202", rows, code, b)
	}
	var job JobAccepted
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&job); err != nil || job.JobID == "" || job.Rows != rows || job.StatusURL != "/api/invoices/jobs/"+job.JobID {
		t.Fatalf("202 answer %s (%v), want the job id, %d rows and its status URL", b, err, rows)
	}
	return job
}

func getJob(t *testing.T, s *Server, path, auth string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// waitJob asks for the job's status until it is done; the job runs in the
// background, so this only waits.
func waitJob(t *testing.T, s *Server, job JobAccepted) intake.Job {
	t.Helper()
	var got intake.Job
	dealtest.Eventually(t, "intake job "+job.JobID+" to finish", func() bool {
		code, b := getJob(t, s, job.StatusURL, "Bearer "+financeToken)
		if code != http.StatusOK {
			t.Fatalf("job status: %d %s", code, b)
		}
		got = intake.Job{}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("job status %s: %v", b, err)
		}
		return got.Status == "done"
	})
	return got
}

// checkJob checks a finished job's counts and answers like a small file's.
func checkJob(t *testing.T, what string, job intake.Job, want []wantRow) {
	t.Helper()
	if job.Waiting != 0 || job.Rows != len(want) || job.NextAfter != 0 {
		t.Errorf("%s: %d rows, %d waiting, next after %d; want %d, none waiting, one page", what, job.Rows, job.Waiting, job.NextAfter, len(want))
	}
	checkAnswer(t, what, IntakeAnswer{Accepted: job.Accepted, Duplicate: job.Duplicate, Refused: job.Refused, Rows: job.Answers}, want)
}
