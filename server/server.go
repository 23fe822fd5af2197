package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"dealflow/activities"
	"dealflow/clientlink"
	"dealflow/db"
	"dealflow/deal"
	"dealflow/hubspot"
	"dealflow/intake"
	"dealflow/metrics"
	"dealflow/workflows"
)

// Server is a running worker process.
type Server struct {
	cfg    Config
	Pool   *pgxpool.Pool
	Store  *db.Store
	Client client.Client
	worker worker.Worker
	http   *http.Server
	ops    *http.Server
	// Addr is where the HTTP server listens (useful when HTTP_ADDR asked
	// for port 0); OpsAddr the operations listener (METRICS_ADDR), if any.
	Addr, OpsAddr string
	log           *slog.Logger
	// slack is the Slack app (slack.go), created on first use.
	slack *slackApp
	// stopPeople ends the people refresher and waits for it.
	stopPeople func()
	// stopSweeper ends the intake sweeper and waits for it.
	stopSweeper func()
	// links issues and checks client links; nil while CLIENT_LINK_SECRET
	// is unset, which keeps the feature off.
	links *clientlink.Links
	// The rate limiters of the routes (routes.go), per client; tokenLimit
	// per client link.
	ipLimit, tokenLimit, pageLimit, financeLimit, authFail *limiter
	// people caches who a signed-in person is in Slack (people_roles.go).
	slackUsers slackPeople
	// hubspot is the HubSpot bridge (hubspot.go), nil while it is off.
	hubspot     *hubspot.Bridge
	stopHubSpot func()
	// taskFailures are the workflow tasks this worker failed lately, for
	// the readiness check.
	taskFailures taskFailures
}

// Start connects to PostgreSQL and Temporal, migrates the schema, starts the
// Temporal worker and the HTTP server. An unreachable dependency gives one
// error saying what was tried and how to start it.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Log,
		ipLimit:      newLimiter(orDefault(cfg.ClientIPLimit, DefaultClientIPLimit)),
		tokenLimit:   newLimiter(orDefault(cfg.ClientTokenLimit, DefaultClientTokenLimit)),
		pageLimit:    newLimiter(orDefault(cfg.PageLimit, DefaultPageLimit)),
		financeLimit: newLimiter(orDefault(cfg.FinanceLimit, DefaultFinanceLimit)),
		authFail:     newLimiter(orDefault(cfg.AuthFailLimit, DefaultAuthFailLimit)),
	}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()

	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pool, err := db.Connect(pctx, cfg.DatabaseURL)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		return nil, fmt.Errorf("PostgreSQL at %s has no such database; create it (createdb) or run `make dev`, which does", db.Describe(cfg.DatabaseURL))
	case err != nil:
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s (%s); start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set DATABASE_URL",
			db.Describe(cfg.DatabaseURL), oneLine(err))
	}
	s.Pool, s.Store = pool, &db.Store{Pool: pool}
	if cfg.ClientLinkSecret != "" {
		s.links = &clientlink.Links{Secret: []byte(cfg.ClientLinkSecret), Store: s.Store}
	}
	if err := db.Migrate(ctx, pool); err != nil {
		return nil, err
	}

	topts := cfg.Temporal
	topts.Logger = sdklog.NewStructuredLogger(cfg.Log)
	if topts.MetricsHandler == nil {
		if topts.MetricsHandler, err = metrics.TemporalHandler(cfg.Log); err != nil {
			return nil, fmt.Errorf("temporal metrics: %w", err)
		}
	}
	topts.MetricsHandler = s.taskFailures.watch(topts.MetricsHandler)
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	c, err := client.DialContext(dctx, topts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s, namespace %q (%s); start a dev server with `make dev` or set TEMPORAL_ADDRESS",
			cfg.TemporalAddress(), namespace(topts), oneLine(err))
	}
	s.Client = c
	if err := checkNamespace(dctx, c, namespace(topts), cfg.TemporalAddress()); err != nil {
		return nil, err
	}

	if cfg.TaskQueue == "" {
		cfg.TaskQueue = workflows.TaskQueue
		s.cfg.TaskQueue = cfg.TaskQueue
	}
	if cfg.WorkflowCache > 0 {
		// Process-wide in the SDK; set before the worker starts polling.
		worker.SetStickyWorkflowCacheSize(cfg.WorkflowCache)
	}
	s.worker = worker.New(c, cfg.TaskQueue, worker.Options{})
	s.worker.RegisterWorkflow(workflows.DealWorkflow)
	s.worker.RegisterWorkflow(intake.JobWorkflow)
	s.worker.RegisterActivity(&activities.Activities{Store: s.Store, Notifier: s.notifier(), Log: s.log})
	s.worker.RegisterActivity(&intake.JobActivities{Store: s.Store, Temporal: c})
	if err := s.worker.Start(); err != nil {
		return nil, fmt.Errorf("starting the Temporal worker: %w", err)
	}
	if err := s.startHubSpot(); err != nil {
		return nil, err
	}

	if s.http, s.Addr, err = s.serve("HTTP_ADDR", cfg.HTTPAddr, s.publicHandler()); err != nil {
		return nil, err
	}
	if h := s.opsHandler(); h != nil {
		if s.ops, s.OpsAddr, err = s.serve("METRICS_ADDR", cfg.MetricsAddr, h); err != nil {
			return nil, err
		}
	}
	s.startSocketMode()
	s.startPeople()
	s.startSweeper()
	ok = true
	return s, nil
}

// serve listens on addr and serves h there until Stop.
func (s *Server) serve(name, addr string, h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("cannot listen on %s %s: %w", name, addr, err)
	}
	// Timeouts bound what a slow or idle client can hold; the slowest
	// legitimate request is a finance file of a few MiB.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "listener", name, "error", err)
		}
	}()
	return srv, ln.Addr().String(), nil
}

func (s *Server) notifier() activities.Notifier {
	if s.cfg.Slack.BotToken != "" {
		return countingNotifier{next: s.slackNotifier(), slack: true}
	}
	return countingNotifier{next: activities.LogNotifier{Log: s.log}}
}

// countingNotifier counts what reaches people for /metrics: margin alerts
// by the status they announce, and notifications Slack did not take. It
// wraps the notifier here so the count covers Slack and the log alike.
type countingNotifier struct {
	next  activities.Notifier
	slack bool
}

func (c countingNotifier) Notify(ctx context.Context, n activities.Notification) error {
	err := c.next.Notify(ctx, n)
	switch {
	case err != nil && c.slack:
		// One failed attempt of the Notify activity; Temporal retries it.
		metrics.SlackFailure("notify")
	case err == nil && n.Notice.Kind == deal.NoticeMarginAlert && n.Notice.Alert != nil:
		metrics.Alert(n.Notice.Alert.To)
	}
	return err
}

// peopleEvery is how often the refresher looks for people to name: a deal
// just opened shows names within about this long.
var peopleEvery = time.Minute

// startPeople keeps the people cache filled from Slack while a bot token is
// set; without one, pages show user ids.
func (s *Server) startPeople() {
	if s.cfg.Slack.BotToken == "" {
		return
	}
	r := &activities.PeopleRefresher{API: s.slackApp().api, Store: s.Store, Log: s.log}
	ctx, cancel := context.WithCancel(context.Background())
	done, every := make(chan struct{}), peopleEvery
	go func() { defer close(done); r.Run(ctx, every) }()
	s.stopPeople = func() { cancel(); <-done }
}

// Stop shuts everything down in the reverse order of Start.
func (s *Server) Stop() {
	for _, h := range []*http.Server{s.http, s.ops} {
		if h != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = h.Shutdown(ctx)
			cancel()
		}
	}
	if s.stopPeople != nil {
		s.stopPeople()
	}
	if s.stopHubSpot != nil {
		s.stopHubSpot()
	}
	if s.stopSweeper != nil {
		s.stopSweeper()
	}
	s.stopSlack()
	if s.worker != nil {
		s.worker.Stop()
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.Pool != nil {
		s.Pool.Close()
	}
}

// TaskQueue is the queue this server's worker polls; deals opened through
// it run there.
func (s *Server) TaskQueue() string { return s.cfg.TaskQueue }

// liveness is the public port's health check: the process answers. It
// says nothing of PostgreSQL or Temporal, which only ops may learn
// (readiness).
func (s *Server) liveness(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, "{\"status\":\"ok\"}\n")
}

// readiness answers 200 when PostgreSQL and Temporal both answer and no
// workflow task of this worker failed lately (a failing task is retried
// forever while its deal stands still: see docs/upgrades.md).
func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	status, code := "ok", http.StatusOK
	if err := s.Pool.Ping(ctx); err != nil {
		status, code = "postgres unreachable", http.StatusServiceUnavailable
	} else if _, err := s.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		status, code = "temporal unreachable", http.StatusServiceUnavailable
	} else if n, what := s.taskFailures.Recent(time.Now()); n > 0 {
		status = fmt.Sprintf("%d workflow task(s) failed in the last %s (%s): see the worker's log and the Temporal UI", n, taskFailureWindow, what)
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"status\":%q}\n", status)
}

func namespace(o client.Options) string {
	if o.Namespace == "" {
		return client.DefaultNamespace
	}
	return o.Namespace
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// oneLine keeps a startup failure to one line: drivers list each address
// they tried on a line of its own, often the same one twice.
func oneLine(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(parts, l) {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
