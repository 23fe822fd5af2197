package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"dealflow/db/dbtest"
	"dealflow/devstack"
	"dealflow/server"
)

func TestBanner(t *testing.T) {
	const finance, dash, bot = "fin-s3cret", "dash-s3cret", "xoxb-s3cret"
	off := banner(server.Config{Temporal: client.Options{HostPort: "127.0.0.1:7233"}}, "127.0.0.1:8080", "", "deals", "", "")
	on := banner(server.Config{Temporal: client.Options{HostPort: "127.0.0.1:7234", Namespace: "ops"}, FinanceToken: finance, DashboardToken: dash,
		Slack: server.SlackConfig{BotToken: bot}}, "127.0.0.1:8081", "127.0.0.1:9464", "deals", "http://127.0.0.1:8234", "http://127.0.0.1:8081/signin?code=abc")
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"all off", off, []string{"Finance intake:  off (restart with FINANCE_API_TOKEN=", "Sign-in:         none configured, so the pages answer 401", "Messages:        the log",
			"http://127.0.0.1:8080/metrics with the dashboard's sign-in", `127.0.0.1:7233, namespace "default", task queue "deals"`}},
		{"all on", on, []string{"Finance intake:  on, POST http://127.0.0.1:8081/api/invoices", "Sign-in:         DASHBOARD_TOKEN", "Sign in:         http://127.0.0.1:8081/signin?code=abc", "http://127.0.0.1:9464/metrics (METRICS_ADDR)", "Messages:        Slack, clicks at http://127.0.0.1:8081/slack/interactions",
			"Temporal UI:     http://127.0.0.1:8234", `namespace "ops"`}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.text, w) {
				t.Errorf("%s: banner lacks %q:\n%s", c.name, w, c.text)
			}
		}
	}
	if strings.Contains(off, "Temporal UI") {
		t.Errorf("outside dev mode the banner names a Temporal UI:\n%s", off)
	}
	for _, secret := range []string{finance, dash, bot} {
		if strings.Contains(on, secret) {
			t.Errorf("the banner prints a secret:\n%s", on)
		}
	}
}

// signInWorks: with no DASHBOARD_TOKEN the dev mode made one; the pages
// refuse a browser without it, and the banner's sign-in link sets an
// HttpOnly, SameSite=Strict session cookie that opens them.
func signInWorks(t *testing.T, w *devWorker) {
	t.Helper()
	m := regexp.MustCompile(`Sign in:\s+(\S+)`).FindStringSubmatch(w.banner)
	if m == nil {
		t.Fatalf("the dev banner has no sign-in link:\n%s", w.banner)
	}
	deals := "http://127.0.0.1:" + w.http + "/deals"
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status := func(u string) (int, *http.Response) {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp
	}
	if code, _ := status(deals); code != http.StatusUnauthorized {
		t.Errorf("the dev mode's pages answered %d before signing in, want 401", code)
	}
	if code, _ := status(strings.Replace(m[1], "code=", "code=x", 1)); code != http.StatusUnauthorized {
		t.Errorf("a wrong sign-in code answered %d, want 401", code)
	}
	code, resp := status(m[1])
	cookie := resp.Header.Get("Set-Cookie")
	if code != http.StatusSeeOther || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("the sign-in link answered %d with cookie %q", code, cookie)
	}
	if code, _ := status(deals); code != http.StatusOK {
		t.Errorf("signed in, the pages answered %d", code)
	}
}

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"status":"temporal unreachable"}`)
	}))
	defer ts.Close()
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	// A worker listening on every interface is checked through loopback.
	if err := healthcheck("0.0.0.0:"+port, "/readyz"); err != nil {
		t.Fatalf("healthy worker: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := healthcheck(ts.Listener.Addr().String(), "/readyz"); err == nil || !strings.Contains(err.Error(), "temporal unreachable") {
		t.Fatalf("unhealthy worker: %v", err)
	}
	ts.Close()
	if err := healthcheck(ts.Listener.Addr().String(), "/readyz"); err == nil {
		t.Fatal("a stopped worker passed the health check")
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// devWorker is `worker -dev -demo=false` started as `make dev` starts it,
// on free ports and a database of its own.
type devWorker struct {
	cmd      *exec.Cmd
	env      []string // what the worker was given, for clients of it
	banner   string
	stderr   *strings.Builder
	lines    chan string
	ui, http string // ports
	ops      string
	frontend string
}

// startDevWorker builds the worker with the dev tag and waits for its banner;
// extra is added to its environment. The worker is killed when the test ends.
func startDevWorker(t *testing.T, extra ...string) *devWorker {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	if out, err := exec.Command("go", "build", "-tags", "dev", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// Warm the pinned CLI first, so the worker's own start is quick.
	if _, err := devstack.TemporalCLI(context.Background()); err != nil {
		t.Fatal(err)
	}
	dbURL, drop, err := dbtest.CreateDatabase(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	w := &devWorker{ui: freePort(t), frontend: freePort(t), http: freePort(t), ops: freePort(t), stderr: &strings.Builder{}, lines: make(chan string)}
	w.env = append([]string{"DATABASE_URL=" + dbURL, "DEALFLOW_DEV_DIR=" + t.TempDir(), "TEMPORAL_UI_PORT=" + w.ui,
		"TEMPORAL_ADDRESS=127.0.0.1:" + w.frontend, "HTTP_ADDR=127.0.0.1:" + w.http, "METRICS_ADDR=127.0.0.1:" + w.ops, "DASHBOARD_TOKEN="}, extra...)
	w.cmd = exec.Command(bin, "-dev", "-demo=false")
	w.cmd.Env = append(os.Environ(), w.env...)
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.cmd.Stderr = w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// An interrupt lets the worker stop the Temporal dev server it
		// started; a kill would leave that server running after the test.
		if w.cmd.Process.Signal(syscall.SIGINT) == nil {
			done := make(chan struct{})
			go func() { _ = w.cmd.Wait(); close(done) }()
			select {
			case <-done:
				return
			case <-time.After(30 * time.Second):
			}
		}
		_ = w.cmd.Process.Kill()
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		close(w.lines)
	}()
	var banner strings.Builder
	// The deadline only stops a hung start; it asserts nothing on speed.
	deadline := time.After(3 * time.Minute)
	for !strings.Contains(banner.String(), "Ctrl-C stops it.") {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatalf("the worker stopped before its banner:\n%s\n%s", banner.String(), w.stderr.String())
			}
			banner.WriteString(l + "\n")
		case <-deadline:
			t.Fatalf("no banner:\n%s\n%s", banner.String(), w.stderr.String())
		}
	}
	w.banner = banner.String()
	// The worker's later output is read, so it never blocks on a full pipe.
	go func() {
		for range w.lines {
		}
	}()
	return w
}

// TestDevModeStopsCleanly runs `worker -dev` as `make dev` does, with the
// ports and the finance token from the environment, and interrupts it the
// way Ctrl-C does: it says finance intake is on, serves the UI on the port
// asked for, and exits 0.
func TestDevModeStopsCleanly(t *testing.T) {
	w := startDevWorker(t, "FINANCE_API_TOKEN=dev-finance-s3cret-0123456789abcdef")
	for _, want := range []string{"Finance intake:  on", "Temporal UI:     http://127.0.0.1:" + w.ui, "127.0.0.1:" + w.frontend, "http://127.0.0.1:" + w.http + "/deals"} {
		if !strings.Contains(w.banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, w.banner)
		}
	}
	if strings.Contains(w.banner+w.stderr.String(), "dev-finance-s3cret") {
		t.Error("the worker printed the finance token")
	}
	if resp, err := http.Get("http://127.0.0.1:" + w.ui + "/"); err != nil {
		t.Errorf("no Temporal UI on port %s: %v", w.ui, err)
	} else {
		resp.Body.Close()
	}
	signInWorks(t, w)

	if err := w.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := w.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) || err != nil {
		t.Fatalf("after Ctrl-C the worker exited with %v, want 0\n%s", err, w.stderr.String())
	}
}
