//go:build dev

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/client"

	"dealflow/devstack"
	"dealflow/server"
)

// startDevStack makes this machine self-sufficient: the database is created
// when missing and the pinned Temporal dev server keeps its state in
// .dev/temporal.db (DEALFLOW_DEV_DIR moves it), so deals survive a restart
// of the dev mode.
func startDevStack(ctx context.Context, cfg *server.Config, uiPort string) (func(), error) {
	if err := devstack.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, fmt.Errorf("%v; start PostgreSQL with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set DATABASE_URL", err)
	}
	dir := os.Getenv("DEALFLOW_DEV_DIR")
	if dir == "" {
		root, err := devstack.ModuleRoot()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(root, ".dev")
	}
	logPath := filepath.Join(dir, "temporal.log")
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
		HostPort: hostPort, UIPort: uiPort, DBFile: filepath.Join(dir, "temporal.db"), Output: logFile,
	})
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%v (its log: %s)", err, logPath)
	}
	cfg.Temporal.HostPort = srv.FrontendHostPort()
	return func() { _ = srv.Stop(); logFile.Close() }, nil
}

// runDemo drives the scripted demo deal.
func runDemo(ctx context.Context, c client.Client, out io.Writer) error {
	return devstack.RunDemo(ctx, c, out)
}
