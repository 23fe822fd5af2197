package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"dealflow/db/dbtest"
	"dealflow/devstack"
)

// TestUnreachableDependencies runs the worker binary the way ops would and
// checks that a missing dependency gives one clear line and exit code 1,
// with no stack dump.
func TestUnreachableDependencies(t *testing.T) {
	bin := buildWorker(t)
	goodDB, drop, err := dbtest.CreateDatabase(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"PostgreSQL stopped", []string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/dealflow?sslmode=disable"}, `cannot reach PostgreSQL at 127.0.0.1:1, database "dealflow"`},
		{"database missing", []string{"DATABASE_URL=" + strings.Replace(goodDB, "dealflow_test_", "dealflow_absent_", 1)}, "has no such database"},
		{"password in the URL hidden", []string{"DATABASE_URL=postgres://postgres:s3cret@127.0.0.1:1/dealflow"}, `127.0.0.1:1, database "dealflow", user "postgres"`},
		{"password parameter hidden", []string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/dealflow?password=s3cret"}, `127.0.0.1:1, database "dealflow"`},
		{"key=value password hidden", []string{"DATABASE_URL=host=127.0.0.1 port=1 user=postgres password=s3cret dbname=dealflow"}, `127.0.0.1:1, database "dealflow"`},
		{"Temporal stopped", []string{"DATABASE_URL=" + goodDB, "TEMPORAL_ADDRESS=127.0.0.1:1"}, "cannot reach Temporal at 127.0.0.1:1"},
		// Unsafe settings are refused before anything is reached.
		{"short finance token", []string{"FINANCE_API_TOKEN=s3cret"}, "FINANCE_API_TOKEN is 6 bytes; use at least 32"},
		{"pages beyond loopback without a credential", []string{"HTTP_ADDR=0.0.0.0:0", "DASHBOARD_TOKEN="}, "set DASHBOARD_TOKEN, or TRUSTED_PROXIES"},
		{"client links over http", []string{"CLIENT_LINK_SECRET=0123456789abcdef0123456789abcdef", "DEALFLOW_BASE_URL=http://dealflow.example.com"}, "need an https:// DEALFLOW_BASE_URL"},
		{"a bad trusted proxy", []string{"TRUSTED_PROXIES=proxy.internal"}, `TRUSTED_PROXIES: "proxy.internal" is neither`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stderr := failsToStart(t, bin, c.env, c.want)
			if strings.Contains(stderr, "s3cret") || strings.Contains(stderr, "0123456789abcdef") || strings.Contains(stderr, "goroutine") {
				t.Fatalf("stderr leaks a secret or a stack:\n%s", stderr)
			}
		})
	}
}

// TestTemporalNamespaceChecked starts the worker against a dev server that
// lacks one search attribute the deal workflow sets, and against a
// namespace that does not exist: each refuses to start within 10 seconds
// with one line naming what is missing and the command that adds it.
func TestTemporalNamespaceChecked(t *testing.T) {
	bin := buildWorker(t)
	tsrv, dbURL := startStack(t, devstack.TemporalOptions{Omit: []string{"DealHealth"}})
	addr := tsrv.FrontendHostPort()
	env := []string{"DATABASE_URL=" + dbURL, "TEMPORAL_ADDRESS=" + addr}
	failsToStart(t, bin, env, `Temporal namespace "default" lacks search attribute(s) DealHealth (Keyword) that the deal workflow sets; `+
		"add them with `temporal operator search-attribute create --address "+addr+" --namespace default --name DealHealth --type Keyword`")
	failsToStart(t, bin, append(env, "TEMPORAL_NAMESPACE=nowhere"), `has no namespace "nowhere"; create it with `+
		"`temporal operator namespace create --address "+addr+" --namespace nowhere`")
}

// failsToStart runs the worker with env added to this process's and checks
// that it exits 1 within 10 seconds, with one line on stderr that contains
// want and no stack. It returns stderr.
func failsToStart(t *testing.T, bin string, env []string, want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), append([]string{"HTTP_ADDR=127.0.0.1:0"}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the worker did not exit within 10 s; stderr:\n%s", stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want code 1", err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "dealflow worker: ") || !strings.Contains(lines[0], want) {
		t.Fatalf("stderr is not one clear line containing %q:\n%s", want, stderr.String())
	}
	if strings.Contains(stderr.String(), "goroutine") {
		t.Fatalf("stderr holds a stack:\n%s", stderr.String())
	}
	t.Logf("%s", lines[0])
	return stderr.String()
}

// startStack starts a Temporal dev server and creates a database, both
// gone when the test ends.
func startStack(t *testing.T, o devstack.TemporalOptions) (*testsuite.DevServer, string) {
	t.Helper()
	ctx := context.Background()
	tsrv, err := devstack.StartTemporal(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tsrv.Stop() })
	dbURL, drop, err := dbtest.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return tsrv, dbURL
}

// buildWorker builds the production worker binary for a test that runs it.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}
