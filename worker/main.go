// Command worker runs dealflow: the Temporal worker for the deal workflows
// and the HTTP server. With -dev it first starts everything it needs on this
// machine (the pinned Temporal dev server with its UI) and drives a demo
// deal; the dev mode is built in only with the build tag dev (make dev), so
// the production worker never links the dev stack or the SDK's test suite.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"dealflow/server"
)

// DefaultUIPort is where the dev mode serves the Temporal UI unless
// TEMPORAL_UI_PORT says otherwise.
const DefaultUIPort = "8233"

func main() {
	dev := flag.Bool("dev", false, "start the Temporal dev server (UI on 127.0.0.1:$TEMPORAL_UI_PORT, default 8233) and create the database if missing")
	demo := flag.Bool("demo", true, "with -dev, drive a scripted demo deal")
	health := flag.Bool("healthcheck", false, "ask the running worker's /readyz at METRICS_ADDR (else its /healthz at HTTP_ADDR) and exit 0 when it answers 200: the container health check")
	flag.Parse()

	if *health {
		addr, path := os.Getenv("HTTP_ADDR"), "/healthz"
		if ops := os.Getenv("METRICS_ADDR"); ops != "" {
			// The detailed check (PostgreSQL and Temporal) is on the
			// operations listener; the public port has only liveness.
			addr, path = ops, "/readyz"
		}
		if err := healthcheck(addr, path); err != nil {
			fmt.Fprintln(os.Stderr, "dealflow worker healthcheck:", err)
			os.Exit(1)
		}
		return
	}
	restore := func() {}
	if *dev {
		restore = takeTerminal()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *dev, *demo)
	stop()
	restore()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dealflow worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dev, demo bool) error {
	cfg, err := server.ConfigFromEnv()
	if err != nil {
		return err
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	uiURL := ""
	if dev {
		uiPort := os.Getenv("TEMPORAL_UI_PORT")
		if uiPort == "" {
			uiPort = DefaultUIPort
		}
		if cfg.DashboardToken == "" {
			// The pages are never open: the dev mode makes a token for
			// this run and prints a sign-in link made from it.
			cfg.DashboardToken = newToken()
		}
		if cfg.MetricsAddr == "" {
			cfg.MetricsAddr = DefaultDevMetricsAddr
		}
		stopDev, err := startDevStack(ctx, &cfg, uiPort)
		if err != nil {
			return err
		}
		defer stopDev()
		uiURL = "http://127.0.0.1:" + uiPort
	}
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Stop()
	signIn := ""
	if dev {
		signIn = "http://" + srv.Addr + server.SignInPath(cfg.DashboardToken)
	}
	fmt.Print(banner(cfg, srv.Addr, srv.OpsAddr, srv.TaskQueue(), uiURL, signIn))
	if dev && demo {
		go func() {
			if err := runDemo(ctx, srv.Client, os.Stdout); err != nil && ctx.Err() == nil {
				cfg.Log.Error("demo deal stopped", "error", err)
			}
		}()
	}
	<-ctx.Done()
	fmt.Println("\nstopping")
	return nil
}

// DefaultDevMetricsAddr is the dev mode's operations listener unless
// METRICS_ADDR says otherwise (OpenTelemetry's Prometheus exporter port).
const DefaultDevMetricsAddr = "127.0.0.1:9464"

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// banner says where everything is and which optional parts are on, so
// nobody has to guess why finance intake answers 404. It names the
// variables that turn parts on, never their values; signIn is the dev
// mode's sign-in link, which opens a session and holds no token.
func banner(cfg server.Config, addr, opsAddr, taskQueue, uiURL, signIn string) string {
	base := "http://" + addr
	var b strings.Builder
	fmt.Fprintf(&b, "\ndealflow is running.\n")
	if uiURL != "" {
		fmt.Fprintf(&b, "  Temporal UI:     %s (dev server; TEMPORAL_UI_PORT moves it)\n", uiURL)
	}
	fmt.Fprintf(&b, "  Temporal:        %s, namespace %q, task queue %q\n", cfg.TemporalAddress(), namespace(cfg), taskQueue)
	fmt.Fprintf(&b, "  Deal pages:      %s/deals\n", base)
	if signIn != "" {
		fmt.Fprintf(&b, "  Sign in:         %s (sets a session cookie in your browser)\n", signIn)
	}
	switch {
	case cfg.DashboardToken != "" && len(cfg.TrustedProxies) > 0:
		fmt.Fprintf(&b, "  Sign-in:         people through TRUSTED_PROXIES (%s), scripts with DASHBOARD_TOKEN\n", identity(cfg))
	case cfg.DashboardToken != "":
		fmt.Fprintf(&b, "  Sign-in:         DASHBOARD_TOKEN as bearer token or basic-auth password\n")
	case len(cfg.TrustedProxies) > 0:
		fmt.Fprintf(&b, "  Sign-in:         people through TRUSTED_PROXIES (%s)\n", identity(cfg))
	default:
		fmt.Fprintf(&b, "  Sign-in:         none configured, so the pages answer 401 to everyone (set DASHBOARD_TOKEN or TRUSTED_PROXIES)\n")
	}
	if cfg.FinanceToken != "" {
		fmt.Fprintf(&b, "  Finance intake:  on, POST %s/api/invoices and /api/invoices.csv with Authorization: Bearer $FINANCE_API_TOKEN\n", base)
	} else {
		fmt.Fprintf(&b, "  Finance intake:  off (restart with FINANCE_API_TOKEN=... to turn it on)\n")
	}
	if cfg.ClientLinkSecret != "" {
		fmt.Fprintf(&b, "  Client links:    on, public pages at %s/client/... (CLIENT_LINK_SECRET)\n", base)
	} else {
		fmt.Fprintf(&b, "  Client links:    off (set CLIENT_LINK_SECRET to let clients sign off through a link)\n")
	}
	switch {
	case cfg.Slack.BotToken != "" && cfg.Slack.AppToken != "":
		fmt.Fprintf(&b, "  Messages:        Slack, clicks over Socket Mode\n")
	case cfg.Slack.BotToken != "":
		fmt.Fprintf(&b, "  Messages:        Slack, clicks at %s/slack/interactions\n", base)
	default:
		fmt.Fprintf(&b, "  Messages:        the log below (set SLACK_BOT_TOKEN to post to Slack)\n")
	}
	if opsAddr != "" {
		fmt.Fprintf(&b, "  Health, metrics: %s/healthz (liveness); ops at http://%s/readyz, http://%s/metrics (METRICS_ADDR)\n", base, opsAddr, opsAddr)
	} else {
		fmt.Fprintf(&b, "  Health, metrics: %s/healthz (liveness); %s/readyz, %s/metrics with the dashboard's sign-in (set METRICS_ADDR for Prometheus)\n", base, base, base)
	}
	fmt.Fprintf(&b, "Ctrl-C stops it.\n\n")
	return b.String()
}

func identity(cfg server.Config) string {
	if cfg.IdentityHeader != "" {
		return cfg.IdentityHeader
	}
	return server.DefaultIdentityHeader
}

func namespace(cfg server.Config) string {
	if cfg.Temporal.Namespace == "" {
		return "default"
	}
	return cfg.Temporal.Namespace
}

// healthcheck asks the worker listening at addr for path. The container
// image has no shell or curl, so the worker checks itself; a wildcard
// listen address is reached through loopback.
func healthcheck(addr, path string) error {
	if addr == "" {
		addr = server.DefaultHTTPAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	c := http.Client{Timeout: 4 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
