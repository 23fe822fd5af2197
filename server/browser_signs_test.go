package server

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dealflow/report/reporttest"
)

// TestReportScreenshot loads the worked examples of docs/warning-signs.md
// into PostgreSQL, reads the report in headless Chromium as of the
// examples' moment, checks the five signs' charts and figures, and takes
// the screenshot the document shows:
//
//	DEALFLOW_SCREENSHOTS=docs go test -count=1 -run TestReportScreenshot ./server
func TestReportScreenshot(t *testing.T) {
	chromiumBin(t)
	const token = "signs-token"
	s := startServer(t, func(c *Config) { c.DashboardToken = token })
	ctx := context.Background()
	for _, p := range []struct{ id, name string }{{"U_ANA", "Ana Alvarez"}, {"U_BEN", "Ben Baker"}, {"U_PIA", "Pia Park"}, {"U_OLA", "Ola Olsen"}} {
		if err := s.Store.SavePerson(ctx, p.id, p.id, p.name, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := reporttest.WorkedRecords()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := s.Store.ImportRecord(ctx, r, nil, "seed-"+r.Terms.DealID); err != nil {
			t.Fatal(err)
		}
	}
	// The finance file that only corrected w-ana-1: one credit note.
	if _, err := s.Pool.Exec(ctx, `INSERT INTO intake_jobs (job_id, path, rows_total) VALUES ('job-credit', 'credits.csv', 1);
		INSERT INTO intake_rows (job_id, row_no, deal_id, invoice_id, invoice, status)
		VALUES ('job-credit', 1, 'w-ana-1', 'W1-1-CN', '{"invoice_id":"W1-1-CN","category":"subcontractor","amount":"-500","currency":"EUR","date":"2026-09-30","credit":true}', 'accepted')`); err != nil {
		t.Fatal(err)
	}
	page := url.URL{Scheme: "http", Host: s.Addr, Path: "/reports/handover", User: url.UserPassword("ops", token),
		RawQuery: url.Values{"as_of": {reporttest.WorkedNow.Format(time.RFC3339)}}.Encode()}
	dom := string(headless(t, "--dump-dom", page.String()))
	for _, want := range []string{
		`data-sign="1"`, `data-sign="2"`, `data-sign="3"`, `data-sign="4"`, `data-sign="5"`,
		// Ana's row: 1.33 questions a deal, 3.5 hours to answer, 6 scope
		// items, 5.7/6.0/23.7 days, 11.33 pts and flagged, 27.3% lines.
		`<tr data-signs-person="U_ANA"><td>Ana Alvarez (U_ANA) <span class="pill bad">flagged</span></td><td class="num">3</td>`,
		`<td class="num">1.33</td><td class="num">3.5</td><td class="num">1</td>`, `>6</td>`, `<td class="num">5.7</td><td class="num">6.0</td><td class="num">23.7</td>`,
		`<td class="num">11.33</td>`, `27.3% <span class="muted">(3/11)</span>`,
		`<tr data-signs-person="U_OLA"><td>Ola Olsen (U_OLA)</td>`, `<td class="num">30.5</td>`,
		// The trend of sign 4 over 2026: −8, 10 and 4.67 points.
		`>2026-Q4</text>`, `>4.67</text>`, `>-8</text>`,
		"Finance closes a month 10 days after its end", "3. Margin seen late", "5. Shadow tracking (a proxy)",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the report in the browser lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
	dir := os.Getenv("DEALFLOW_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "report-signs.png")
	headless(t, "--hide-scrollbars", "--window-size=1400,2000", "--screenshot="+shot, page.String())
	if b, err := os.ReadFile(shot); err != nil || len(b) < 10000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("no screenshot of the report (%d bytes, %v)", len(b), err)
	}
}
