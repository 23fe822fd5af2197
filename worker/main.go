// Command worker runs dealflow: the Temporal worker for the deal workflows
// and the HTTP server. With -dev it first starts everything it needs on this
// machine (the pinned Temporal dev server with its UI) and drives a demo deal.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"dealflow/devstack"
	"dealflow/server"
)

func main() {
	dev := flag.Bool("dev", false, "start the Temporal dev server (UI on 127.0.0.1:8233) and create the database if missing")
	demo := flag.Bool("demo", true, "with -dev, drive a scripted demo deal")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *dev, *demo); err != nil {
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
	if dev {
		stopDev, err := startDevStack(ctx, &cfg)
		if err != nil {
			return err
		}
		defer stopDev()
	}
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("\ndealflow is running.\n  Temporal UI:   http://127.0.0.1:8233 (dev mode)\n  Worker health: http://%s/healthz\n  Deal pages:    http://%s/deals\n  Temporal:      %s   task queue %q\nCtrl-C stops it.\n\n",
		srv.Addr, srv.Addr, cfg.TemporalAddress(), "deals")
	if dev && demo {
		go func() {
			if err := devstack.RunDemo(ctx, srv.Client, os.Stdout); err != nil && ctx.Err() == nil {
				cfg.Log.Error("demo deal stopped", "error", err)
			}
		}()
	}
	<-ctx.Done()
	fmt.Println("\nstopping")
	return nil
}

// startDevStack makes this machine self-sufficient: the database is created
// when missing and the pinned Temporal dev server keeps its state in
// .dev/temporal.db, so deals survive a restart of the dev mode.
func startDevStack(ctx context.Context, cfg *server.Config) (func(), error) {
	if err := devstack.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, fmt.Errorf("%v; start PostgreSQL with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set DATABASE_URL", err)
	}
	root, err := devstack.ModuleRoot()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(root, ".dev", "temporal.log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Println("starting the Temporal dev server (the first run builds the pinned CLI, about 2.5 minutes)...")
	hostPort := cfg.Temporal.HostPort
	if hostPort == "" {
		hostPort = "127.0.0.1:7233"
	}
	srv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		HostPort: hostPort, UIPort: "8233", DBFile: filepath.Join(root, ".dev", "temporal.db"), Output: logFile,
	})
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%v (its log: %s)", err, logPath)
	}
	cfg.Temporal.HostPort = srv.FrontendHostPort()
	return func() { _ = srv.Stop(); logFile.Close() }, nil
}
