package server

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/report/reporttest"
	"dealflow/workflows"
)

// chromiumBin finds Debian's chromium. Without it the test is skipped on a
// developer's machine and fails in CI, where .ci/run installs it.
func chromiumBin(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("chromium is not installed (apt-get install chromium); CI installs it and fails without it")
	}
	t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	return ""
}

// headless runs one headless Chromium with a profile of its own and
// nothing phoning home, and returns what it printed.
func headless(t *testing.T, args ...string) []byte {
	t.Helper()
	// The deadline only stops a hung browser; it asserts nothing on speed.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Logging to stderr prints the page's console, where Chromium reports
	// whatever the pages' Content-Security-Policy blocked.
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--enable-logging=stderr", "--v=0", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromiumBin(t), append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	for _, v := range cspViolations(stderr.String()) {
		t.Errorf("chromium %v: the page broke its Content-Security-Policy: %s", args, v)
	}
	return out
}

// cspViolations are the console lines in which Chromium says the
// Content-Security-Policy blocked something: a page that needs what its
// policy forbids renders differently than it was meant to.
func cspViolations(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "Content Security Policy") {
			out = append(out, l)
		}
	}
	return out
}

// TestDealPageInBrowser loads a deal page from a running worker in a real
// headless Chromium, logged in with the dashboard token, and checks that
// the browser shows the forecast margin the record query answers, people
// by the names cached from Slack, and the margin chart's axes.
func TestDealPageInBrowser(t *testing.T) {
	chromiumBin(t)
	const token = "browser-token-0123456789abcdef0123"
	s := startServer(t, func(c *Config) { c.DashboardToken = token })
	ctx := context.Background()
	// The people cache as the refresher leaves it: names for some ids, an
	// empty entry for one Slack did not know (shown as its id).
	for _, p := range []struct{ id, name, realName string }{{dealtest.AE, "ana", "Ana Alvarez"}, {dealtest.PM, "maria", "Maria Okafor"},
		{dealtest.GM, "", ""}, {"U_AE_DRIFT", "dana", "Dana Drift"}} {
		if err := s.Store.SavePerson(ctx, p.id, p.name, p.realName, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	id := "br-1"
	today := time.Now().UTC().Format("2006-01-02")
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	send(t, s, id, dealtest.ToDelivery()...)
	send(t, s, id,
		dealtest.Invoice("INV-1", "subcontractor", "9000", today),
		dealtest.Progress("15"),
		dealtest.Invoice("INV-2", "license", "2500.40", today),
		dealtest.Progress("30"),
		dealtest.Invoice("INV-3", "travel", "1200", today),
		dealtest.Step{Signal: deal.SigFee, Payload: dealtest.JSON(map[string]string{"fee_id": "F1", "kind": "invoiced", "amount": "40000", "currency": "EUR", "date": today})},
		dealtest.Step{Signal: deal.SigFee, Payload: dealtest.JSON(map[string]string{"fee_id": "F2", "kind": "collected", "amount": "25000", "currency": "EUR", "date": today})},
		dealtest.Step{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I-7", "severity": "minor", "status": "open", "title": "Slow nightly export"})},
		dealtest.Step{Signal: deal.SigChangeOrder, Payload: dealtest.JSON(map[string]string{"id": "CO-1", "amount": "8000", "planned_cost": "5000", "status": "pending", "by": dealtest.PM})},
	)
	waitForRecord(t, s, id)
	rec, err := workflows.Record(ctx, s.Client, id)
	if err != nil {
		t.Fatal(err)
	}
	want := rec.Deal.Margin.ForecastMarginPct.StringFixed(2)

	// Basic auth in the URL is how a headless browser logs in without a
	// prompt; the password is the dashboard token.
	page := url.URL{Scheme: "http", Host: s.Addr, Path: "/deals/" + id, User: url.UserPassword("ops", token)}
	dom := string(headless(t, "--dump-dom", page.String()))
	m := forecastRe.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the browser shows no forecast margin; DOM:\n%s", dom)
	}
	if m[1] != want {
		t.Fatalf("the browser shows a forecast margin of %s%%, the record query says %s%%", m[1], want)
	}
	for _, text := range []string{"Globex / Data platform br-1", ">in progress<", "Handover checklist", "data retention period", `id="margin-chart"`,
		`id="fees-collected">25,000.00<`, `id="fees-pending">15,000.00<`, "Slow nightly export", "10% off phase 2",
		// Names with their ids: the header, who signed the handover off,
		// who moved the stages; a person without a name stays an id.
		`id="person-ae">Ana Alvarez (` + dealtest.AE + `)<`, `id="person-pm">Maria Okafor (` + dealtest.PM + `)<`,
		"signed off by Maria Okafor (" + dealtest.PM + ")", "<td>Ana Alvarez (" + dealtest.AE + ")</td>", "GM " + dealtest.GM + " ·"} {
		if !strings.Contains(dom, text) {
			t.Errorf("the browser's page lacks %q", text)
		}
	}

	checkChartAxes(t, dom, rec.Deal.Terms.TargetMarginPct.String())

	// A screenshot for people to look at: kept in DEALFLOW_SCREENSHOTS when
	// set, otherwise only checked to be a real picture.
	dir := os.Getenv("DEALFLOW_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "deal-page.png")
	headless(t, "--hide-scrollbars", "--window-size=1280,3400", "--screenshot="+shot, page.String())
	b, err := os.ReadFile(shot)
	if err != nil || len(b) < 10000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("no screenshot of the deal page (%d bytes, %v)", len(b), err)
	}

	// The list and the report, with a drifting AE to flag, read in the
	// browser too; their screenshots are for people to look at.
	for i, days := range []int{45, 30, 15} {
		r, err := reporttest.Drifting(fmt.Sprintf("br-drift-%d", i), "U_AE_DRIFT", "U_PM_ONE", time.Now().AddDate(0, 0, -days))
		if err != nil {
			t.Fatal(err)
		}
		r.Terms.Client = "Initech"
		// Seeded whole (db.Store.ImportRecord), without its workflow.
		if err := s.Store.ImportRecord(ctx, r, nil, "seed-"+r.Terms.DealID); err != nil {
			t.Fatal(err)
		}
	}
	list := page
	list.Path = "/deals"
	if dom := string(headless(t, "--dump-dom", list.String())); !strings.Contains(dom, `data-deal="br-1"`) || !strings.Contains(dom, `data-deal="br-drift-2"`) ||
		!strings.Contains(dom, "<td>Dana Drift (U_AE_DRIFT)</td>") || !strings.Contains(dom, `<option value="U_AE_DRIFT">Dana Drift (U_AE_DRIFT)</option>`) {
		t.Errorf("the browser's deal list lacks the deals or their AE's name:\n%s", dom)
	}
	headless(t, "--hide-scrollbars", "--window-size=1280,900", "--screenshot="+filepath.Join(dir, "deals.png"), list.String())
	rep := page
	rep.Path = "/reports/handover"
	if dom := string(headless(t, "--dump-dom", rep.String())); !strings.Contains(dom, `data-flagged-ae="U_AE_DRIFT"`) ||
		!strings.Contains(dom, "<h3>Dana Drift (U_AE_DRIFT): the last 3 deals") || !strings.Contains(dom, `<tr data-person="U_AE_DRIFT"><td>Dana Drift (U_AE_DRIFT)</td>`) ||
		!strings.Contains(dom, `<tr data-person="U_PM_ONE"><td>U_PM_ONE</td>`) {
		t.Errorf("the browser's report does not flag U_AE_DRIFT by name, or names U_PM_ONE, who has none:\n%s", dom)
	}
	headless(t, "--hide-scrollbars", "--window-size=1280,1800", "--screenshot="+filepath.Join(dir, "report.png"), rep.String())

	// Without the token the browser is asked to log in (headless, it gives
	// up) and never sees the deal.
	anon := page
	anon.User = nil
	if dom := string(headless(t, "--dump-dom", anon.String())); strings.Contains(dom, "forecast-margin") {
		t.Errorf("without the token the browser saw the deal:\n%s", dom)
	}
}

var (
	xTickRe = regexp.MustCompile(`<text class="x-tick"[^>]*>([^<]*)</text>`)
	xSubRe  = regexp.MustCompile(`<text class="x-sub"[^>]*>([^<]*)</text>`)
	yTickRe = regexp.MustCompile(`<text class="y-tick"[^>]*>(-?[0-9.]+)%</text>`)
	// A time tick is a clock time or a date; never a check number.
	timeLabelRe = regexp.MustCompile(`^([0-2][0-9]:[0-5][0-9]|[0-9]{4}-[0-9]{2}-[0-9]{2})$`)
)

// checkChartAxes reads the margin chart's axes as the browser built them:
// time ticks (with today's date shown), percentage ticks a whole nice step
// apart (1, 2 or 5 times a power of ten), and the target line's label.
func checkChartAxes(t *testing.T, dom, target string) {
	t.Helper()
	xs := xTickRe.FindAllStringSubmatch(dom, -1)
	if len(xs) < 2 {
		t.Fatalf("the chart has %d time ticks, want at least 2", len(xs))
	}
	for _, x := range xs {
		if !timeLabelRe.MatchString(x[1]) {
			t.Errorf("time tick %q is neither a clock time nor a date", x[1])
		}
	}
	today := time.Now().UTC().Format("2006-01-02")
	if subs := xSubRe.FindAllStringSubmatch(dom, -1); !strings.Contains(dom, ">"+today+"<") || (len(subs) > 0 && subs[0][1] != today) {
		t.Errorf("the time axis does not show today's date %s (sub-labels %v)", today, subs)
	}
	ys := yTickRe.FindAllStringSubmatch(dom, -1)
	if len(ys) < 3 {
		t.Fatalf("the chart has %d percentage ticks, want at least 3:\n%s", len(ys), dom)
	}
	var vals []decimal.Decimal
	for _, y := range ys {
		vals = append(vals, decimal.RequireFromString(y[1]))
	}
	step := vals[1].Sub(vals[0])
	for i := 1; i < len(vals); i++ {
		if d := vals[i].Sub(vals[i-1]); !d.Equal(step) {
			t.Fatalf("percentage ticks %v are not evenly spaced", vals)
		}
	}
	if !niceSteps[strings.TrimRight(strings.TrimLeft(step.Abs().String(), "0."), "0")] {
		t.Errorf("percentage ticks %v step by %s, not 1, 2 or 5 times a power of ten", vals, step)
	}
	for _, v := range vals {
		if !v.Mod(step.Abs()).IsZero() {
			t.Errorf("percentage tick %s is not a multiple of the step %s", v, step)
		}
	}
	if want := `id="chart-target-label"`; !strings.Contains(dom, want) || !strings.Contains(dom, ">target "+target+"%<") {
		t.Errorf("the chart does not label its target line \"target %s%%\"", target)
	}
	for _, band := range []string{">at risk: ", ">off track: "} {
		if !strings.Contains(dom, band) {
			t.Errorf("the chart lacks the band label %q", band)
		}
	}
}

// niceSteps are the significant digits of a nice step.
var niceSteps = map[string]bool{"1": true, "2": true, "5": true}
