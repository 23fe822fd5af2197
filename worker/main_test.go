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

	"dealflow/db/dbtest"
)

// TestUnreachableDependencies runs the worker binary the way ops would and
// checks that a missing dependency gives one clear line and exit code 1,
// with no stack dump.
func TestUnreachableDependencies(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "worker")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
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
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), append([]string{"HTTP_ADDR=127.0.0.1:0"}, c.env...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit %v, want code 1", err)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "dealflow worker: ") || !strings.Contains(lines[0], c.want) {
				t.Fatalf("stderr is not one clear line containing %q:\n%s", c.want, stderr.String())
			}
			if strings.Contains(stderr.String(), "s3cret") || strings.Contains(stderr.String(), "0123456789abcdef") || strings.Contains(stderr.String(), "goroutine") {
				t.Fatalf("stderr leaks a secret or a stack:\n%s", stderr.String())
			}
		})
	}
}
