// Package devstack starts what dealflow runs against on a developer's
// machine and in integration tests: the pinned Temporal dev server (built
// from tools/go.mod through the Go module proxy, no Docker, no download) and
// a PostgreSQL database of its own.
package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"dealflow/workflows"
)

// DefaultDatabaseURL is PostgreSQL as our machines and CI serve it.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ModuleRoot is the folder of dealflow's go.mod, found from the working
// directory, so tests in any package and `go run` agree on it.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the dealflow module: run from the repository")
	}
	return filepath.Dir(gomod), nil
}

// TemporalCLI returns the path of the pinned temporal CLI. `go tool -n`
// builds it into the Go build cache the first time (about 2.5 minutes) and
// answers from the cache after that; concurrent callers share the cache.
func TemporalCLI(ctx context.Context) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "tool", "-modfile=tools/go.mod", "-n", "temporal")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the pinned temporal CLI (go tool -modfile=tools/go.mod temporal): %w: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// TemporalOptions shape a dev server.
type TemporalOptions struct {
	// HostPort to bind the frontend on; empty picks a free port.
	HostPort string
	// UIPort serves the Web UI; empty runs headless.
	UIPort string
	// DBFile keeps state in SQLite (with WAL on); empty keeps it in memory.
	DBFile string
	Output io.Writer
	// Omit names deal search attributes not to register: for tests of the
	// worker's startup check.
	Omit []string
}

// StartTemporal starts the pinned dev server with the deal search attributes
// registered. Stop it with the returned server's Stop.
func StartTemporal(ctx context.Context, o TemporalOptions) (*testsuite.DevServer, error) {
	bin, err := TemporalCLI(ctx)
	if err != nil {
		return nil, err
	}
	opts := testsuite.DevServerOptions{
		ExistingPath:     bin,
		ClientOptions:    &client.Options{HostPort: o.HostPort, Namespace: "default"},
		LogLevel:         "error",
		SearchAttributes: workflows.SearchAttributes,
		Stdout:           o.Output,
		Stderr:           o.Output,
	}
	if len(o.Omit) > 0 {
		opts.SearchAttributes = temporal.SearchAttributes{}
		for key := range workflows.SearchAttributes.GetUntypedValues() {
			if !slices.Contains(o.Omit, key.GetName()) {
				opts.ExtraArgs = append(opts.ExtraArgs, "--search-attribute", key.GetName()+"="+key.GetValueType().String())
			}
		}
	}
	if o.UIPort != "" {
		opts.EnableUI, opts.UIPort = true, o.UIPort
	}
	if o.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o755); err != nil {
			return nil, err
		}
		opts.DBFilename = o.DBFile
		// WAL lets the UI read while the server writes, and survives a
		// killed dev server far better than the default journal.
		opts.ExtraArgs = append(opts.ExtraArgs, "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")
	}
	if opts.Stdout == nil {
		opts.Stdout, opts.Stderr = io.Discard, io.Discard
	}
	srv, err := testsuite.StartDevServer(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("starting the Temporal dev server: %w", err)
	}
	return srv, nil
}

// EnsureDatabase creates the database named in dbURL when it is missing,
// connecting to the server's postgres database to do it. The dev mode uses
// it so the first run needs nothing but a running PostgreSQL.
func EnsureDatabase(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("cannot reach PostgreSQL at %s: %w", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}
