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

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/report/reporttest"
	"dealflow/workflows"
)

// TestReportScreenshot loads the worked examples of docs/warning-signs.md
// into PostgreSQL, reads the report in headless Chromium as of the
// examples' moment, checks the five signs' charts and figures, and takes
// the screenshot the document shows:
//
//	DEALFLOW_SCREENSHOTS=docs go test -count=1 -run TestReportScreenshot ./server
func TestReportScreenshot(t *testing.T) {
	chromiumBin(t)
	const token = "signs-token-0123456789abcdef0123456789"
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

// TestAskTheAEInBrowser asks and answers on a running deal through the
// workflow's update, with the refusals a person can run into, and reads
// the deal page in headless Chromium: the questions with their answers,
// the handover checklist's count, and the refusals with their reasons. A
// second deal, walked by the rules past two business days, shows an
// escalated question (the workflow test time-skips the real timer).
func TestAskTheAEInBrowser(t *testing.T) {
	chromiumBin(t)
	const token = "ask-token-0123456789abcdef0123456789ab"
	s := startServer(t, func(c *Config) { c.DashboardToken = token })
	ctx := context.Background()
	id := "br-ask"
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	send(t, s, id, dealtest.ToDelivery()...)
	ask := dealtest.Ask("q1", dealtest.PM, "Which integrations did you promise Globex?")
	send(t, s, id, ask)
	for _, c := range []struct {
		step         dealtest.Step
		status, want string
	}{
		{ask, deal.Duplicate, ""},
		{dealtest.Ask("q2", dealtest.AE, "Asking myself?"), deal.Refused, "only the PM U_PM or the GM U_GM asks the AE"},
		{dealtest.Ask("q3", dealtest.PM, strings.Repeat("?", deal.MaxQuestionLen+1)), deal.Refused, "text is longer than 2000 characters"},
		{dealtest.Reply("q1", dealtest.GM, "Only the CRM."), deal.Refused, "only the AE U_AE answers"},
	} {
		res, err := workflows.Send(ctx, s.Client, id, c.step.Signal, c.step.Payload)
		if err != nil || res.Status != c.status || !strings.Contains(res.Reason, c.want) {
			t.Fatalf("%s %.80s: %+v %v, want %s %q", c.step.Signal, c.step.Payload, res, err, c.status, c.want)
		}
	}
	send(t, s, id, dealtest.Reply("q1", dealtest.AE, "Only the CRM export, see annex B."),
		dealtest.Ask("q4", dealtest.GM, "Is the March go-live in writing?"))
	waitForRecord(t, s, id)

	// The escalated deal: asked on a Friday, due and escalated on Tuesday.
	fri := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	d, err := dealtest.Open(dealtest.Terms("br-esc", fri.AddDate(0, 0, -1)), fri.AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range append(dealtest.ToDelivery(), dealtest.Ask("q1", dealtest.PM, "Who promised weekend support?")) {
		if res := d.Send(fri.Add(time.Duration(i-len(dealtest.ToDelivery()))*time.Minute), st.Signal, st.Payload); res.Status != deal.Accepted {
			t.Fatalf("%s: %+v", st.Signal, res)
		}
	}
	d.Escalate(time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC))
	if err := s.Store.ImportRecord(ctx, d.Record, nil, "seed-br-esc"); err != nil {
		t.Fatal(err)
	}

	page := url.URL{Scheme: "http", Host: s.Addr, Path: "/deals/" + id, User: url.UserPassword("ops", token)}
	dom := string(headless(t, "--dump-dom", page.String()))
	for _, want := range []string{`id="questions"`, `<tr data-question="q1">`, "Which integrations did you promise Globex?", "Only the CRM export, see annex B.",
		`<span class="pill ok">answered</span>`, `<tr data-question="q4">`, `<span class="pill warn">waiting</span>`, "Questions to the AE: 2 asked, 1 unanswered",
		"only the PM U_PM or the GM U_GM asks the AE", "text is longer than 2000 characters", "only the AE U_AE answers"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the deal page in the browser lacks %q", want)
		}
	}
	if strings.Count(dom, `data-question="`) != 2 {
		t.Errorf("the deal page shows %d questions, want 2 (a refused one is no question)", strings.Count(dom, `data-question="`))
	}
	page.Path = "/deals/br-esc"
	if dom := string(headless(t, "--dump-dom", page.String())); !strings.Contains(dom, "escalated to the GM") || !strings.Contains(dom, "Who promised weekend support?") {
		t.Errorf("the escalated question is not shown as escalated:\n%s", dom)
	}
}
