package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"dealflow/activities"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/metrics"
)

// scrape GETs /metrics and returns the body: from the operations
// listener with no credential, as Prometheus does, when the server has
// one; else from HTTP_ADDR with the dashboard token.
func scrape(t *testing.T, s *Server) string {
	t.Helper()
	u, h := "http://"+s.Addr+"/metrics", http.Header(nil)
	if s.OpsAddr != "" {
		u, h = "http://"+s.OpsAddr+"/metrics", http.Header{"Authorization": nil}
	}
	code, body := get(t, u, h)
	if code != 200 {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	return body
}

// sample reads one sample of the exposition text; 0 when it is absent.
func sample(t *testing.T, body, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v
}

// TestMetricsEndpoint scrapes a running worker's operations listener
// (METRICS_ADDR) the way Prometheus does, without a credential, and finds
// the Temporal SDK's metrics of its worker next to dealflow's own
// counters; the public port has neither /metrics nor the detailed health.
func TestMetricsEndpoint(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	for _, p := range []string{"/metrics", "/readyz"} {
		if code, _ := get(t, "http://"+s.Addr+p, nil); code != http.StatusNotFound {
			t.Errorf("GET %s on the public port with METRICS_ADDR set: %d, want 404", p, code)
		}
	}
	if code, body := get(t, "http://"+s.OpsAddr+"/readyz", http.Header{"Authorization": nil}); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("GET /readyz on METRICS_ADDR: %d %s", code, body)
	}
	series := map[string]string{
		"intake":  `dealflow_intake_rows_total{outcome="accepted"}`,
		"refusal": `dealflow_refusals_total{signal="invoice"}`,
		"alert":   `dealflow_margin_alerts_total{status="off_track"}`,
		"slack":   `dealflow_slack_failures_total{kind="post"}`,
	}
	// The record's write sets the lag: from zero to the time the write took.
	metrics.WriteLag(0)
	openDeal(t, s, dealtest.Terms("metrics-1", time.Now()))
	waitForRecord(t, s, "metrics-1")
	if lag := sample(t, scrape(t, s), "dealflow_record_write_lag_seconds"); lag <= 0 {
		t.Errorf("after a record write the lag gauge is %v, want above 0", lag)
	}

	before := scrape(t, s)
	metrics.IntakeRow("accepted")
	metrics.Refusal("invoice")
	metrics.Alert("off_track")
	metrics.SlackFailure("post")
	metrics.WriteLag(1500 * time.Millisecond)
	var after string
	// The SDK reports its worker start and poll requests as they happen;
	// wait for them rather than assume they are already in.
	dealtest.Eventually(t, "the Temporal SDK's worker metrics on /metrics", func() bool {
		after = scrape(t, s)
		return regexp.MustCompile(`(?m)^temporal_worker_start_total\{.*\} [1-9]`).MatchString(after) &&
			regexp.MustCompile(`(?m)^temporal_request_total\{`).MatchString(after)
	})
	for what, name := range series {
		if got, want := sample(t, after, name), sample(t, before, name)+1; got != want {
			t.Errorf("%s: %s is %v, want %v", what, name, got, want)
		}
	}
	if got := sample(t, after, "dealflow_record_write_lag_seconds"); got != 1.5 {
		t.Errorf("write lag gauge %v, want 1.5", got)
	}
}

// scrapeHandler reads the metrics without a running server.
func scrapeHandler() string {
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

type failingNotifier struct{}

func (failingNotifier) Notify(context.Context, activities.Notification) error {
	return errors.New("slack is down")
}

// TestCountingNotifier checks what the worker counts on its own: margin
// alerts that reached people, by status, and Notify attempts Slack failed.
func TestCountingNotifier(t *testing.T) {
	alert := activities.Notification{DealID: "m-1", Notice: deal.Notice{Kind: deal.NoticeMarginAlert,
		Alert: &deal.Alert{Kind: "worsened", From: deal.OnTrack, To: deal.AtRisk}}}
	const atRisk, failed = `dealflow_margin_alerts_total{status="at_risk"}`, `dealflow_slack_failures_total{kind="notify"}`
	before := scrapeHandler()

	logged := countingNotifier{next: activities.LogNotifier{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	if err := logged.Notify(context.Background(), alert); err != nil {
		t.Fatal(err)
	}
	// Not an alert: not counted as one.
	if err := logged.Notify(context.Background(), activities.Notification{DealID: "m-1", Notice: deal.Notice{Kind: deal.NoticeIncident,
		Incident: &deal.Incident{IncidentID: "I-1", Severity: "minor", Status: "open"}}}); err != nil {
		t.Fatal(err)
	}
	slack := countingNotifier{next: failingNotifier{}, slack: true}
	if err := slack.Notify(context.Background(), alert); err == nil {
		t.Fatal("the failing notifier's error was swallowed")
	}

	after := scrapeHandler()
	if got, want := sample(t, after, atRisk), sample(t, before, atRisk)+1; got != want {
		t.Errorf("%s is %v, want %v (the failed Slack post is no alert delivered)", atRisk, got, want)
	}
	if got, want := sample(t, after, failed), sample(t, before, failed)+1; got != want {
		t.Errorf("%s is %v, want %v", failed, got, want)
	}
}
