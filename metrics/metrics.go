// Package metrics is what ops scrape from a worker at /metrics: the Temporal
// SDK's own metrics (polls, task latencies, failures) and dealflow's counters,
// in one Prometheus registry.
//
// The counters are package-level so that any part of the worker (intake,
// Slack, activities) counts with one call and no plumbing; there is one
// worker per process, and tests that start several servers share the
// counters, which only ever go up.
package metrics

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// registry is private to dealflow rather than Prometheus' global one, so a
// library registering its own collectors cannot change what ops scrape.
var registry = prometheus.NewRegistry()

var (
	intakeRows = newCounter("dealflow_intake_rows_total",
		"Finance intake rows answered, by outcome (accepted, duplicate, refused, unknown).", "outcome")
	refusals = newCounter("dealflow_refusals_total",
		"Signals a deal refused, by signal name.", "signal")
	alerts = newCounter("dealflow_margin_alerts_total",
		"Margin alerts and recoveries delivered to people, by the status the margin moved to.", "status")
	slackFailures = newCounter("dealflow_slack_failures_total",
		"Slack calls that failed (after the client's own retries), by kind.", "kind")
	writeLag = prometheus.NewGauge(prometheus.GaugeOpts{Name: writeLagName,
		Help: "Time from a deal record's change in its workflow to its write in PostgreSQL, at the last write."})
	crmFailures = newCounter("dealflow_crm_failures_total",
		"HubSpot calls that failed, by HTTP status (429 included) or network, and bridge steps that failed, by kind.", "kind")
	crmLag = prometheus.NewGauge(prometheus.GaugeOpts{Name: crmLagName,
		Help: "How long the oldest deal change HubSpot does not show yet has waited (0 when HubSpot shows every change)."})
)

const (
	writeLagName = "dealflow_record_write_lag_seconds"
	crmLagName   = "dealflow_crm_sync_lag_seconds"
)

// names are dealflow's own metrics, in the order they were made.
var names []string

// Names lists dealflow's own metric names, so the Grafana dashboard can be
// checked to show each of them.
func Names() []string { return append(append([]string(nil), names...), writeLagName, crmLagName) }

func init() {
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		intakeRows, refusals, alerts, slackFailures, writeLag, crmFailures, crmLag)
}

// IntakeRow counts one finance intake row by its answer.
func IntakeRow(outcome string) { intakeRows.inc(outcome) }

// Refusal counts one signal a deal refused.
func Refusal(signal string) { refusals.inc(signal) }

// Alert counts one margin alert or recovery notice by the status the margin
// moved to (at_risk, off_track, on_track).
func Alert(status string) { alerts.inc(status) }

// SlackFailure counts one Slack call that failed for good, by what was
// being done (post, update, dm, respond, socket...).
func SlackFailure(kind string) { slackFailures.inc(kind) }

// WriteLag records how long the last deal record took from its change in
// the workflow to PostgreSQL. A growing lag means the activities queue up
// or the database is slow, and the deal pages show old news.
func WriteLag(d time.Duration) { writeLag.Set(d.Seconds()) }

// CRMFailure counts one failed HubSpot call or bridge step, by kind (the
// HTTP status, network, apply, mirror).
func CRMFailure(kind string) { crmFailures.inc(kind) }

// CRMSyncLag records how long the oldest change HubSpot does not show yet
// has waited. It grows while HubSpot is down or the rate budget is short;
// nothing is lost meanwhile (the outbox keeps every deal's change).
func CRMSyncLag(d time.Duration) { crmLag.Set(d.Seconds()) }

// Handler serves the registry in Prometheus' text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry})
}

// WorkflowTaskFailed is the Temporal SDK's counter of workflow tasks the
// worker failed (a panic, or a history the code does not replay), as the
// SDK names it; /metrics shows it with "_total". The detailed health check,
// the dashboard and the alert rule in deploy/ watch it.
const WorkflowTaskFailed = "temporal_workflow_task_execution_failed"

var (
	temporalOnce    sync.Once
	temporalHandler client.MetricsHandler
	temporalErr     error
)

// TemporalHandler is the Temporal SDK's metrics handler, exported through
// OpenTelemetry into the same registry: set it as client.Options
// MetricsHandler. It is made once per process, because the exporter
// registers its collector and a second one would clash with the first. An
// instrument the meter rejects is logged, never a panic in the worker.
func TemporalHandler(log *slog.Logger) (client.MetricsHandler, error) {
	temporalOnce.Do(func() {
		exp, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
		if err != nil {
			temporalErr = err
			return
		}
		provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
		temporalHandler = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter:                provider.Meter("temporal-sdk-go"),
			UseMonotonicCounters: true,
			OnError:              func(err error) { log.Warn("temporal sdk metric rejected", "error", err) },
		})
	})
	return temporalHandler, temporalErr
}

// maxLabelValues bounds each counter's series: label values come from
// callers that may pass what a client sent (a signal name), and an
// unbounded label would let one client grow the scrape without end.
const maxLabelValues = 40

// counter is a CounterVec with one label whose values are bounded: past
// maxLabelValues distinct values, or for a value that is not a short
// identifier, the count goes to "other".
type counter struct {
	*prometheus.CounterVec
	mu   sync.Mutex
	seen map[string]bool
}

func newCounter(name, help, label string) *counter {
	names = append(names, name)
	return &counter{CounterVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label}),
		seen: map[string]bool{}}
}

func (c *counter) inc(value string) { c.WithLabelValues(c.bound(value)).Inc() }

func (c *counter) bound(v string) string {
	if !identifier(v) {
		return "other"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.seen[v] {
		if len(c.seen) >= maxLabelValues {
			return "other"
		}
		c.seen[v] = true
	}
	return v
}

// identifier is a short name such as "change_order", "chat.postMessage"
// or "429": what a caller names on purpose, not text someone typed.
func identifier(v string) bool {
	if v == "" || len(v) > 40 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
