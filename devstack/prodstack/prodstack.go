// Package prodstack runs dealflow on this machine in the shape it runs in
// production (docker-compose.yml), without Docker: the Temporal server of
// compose's version on PostgreSQL persistence and visibility, in databases
// and a role of its own, its schema set up by the same commands, the
// namespace and search attributes registered by the same script, and
// several worker processes (each a Temporal worker and an HTTP server on
// its own port) on one task queue and one database, under a supervisor
// that restarts whatever exits. Everything reaches PostgreSQL through a
// loopback TCP proxy, so a fault loop can cut it off.
//
// `make stack` runs it until Ctrl-C; `make soak` drives load and faults
// through it (devstack/soak).
package prodstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"dealflow/deploy"
	"dealflow/devstack"
)

// Options shape a stack. The zero value of a field takes its default.
type Options struct {
	// Dir keeps binaries' links, the server's config link and the logs.
	Dir string
	// AdminURL is a PostgreSQL superuser (DATABASE_URL's server by
	// default): it creates the role and dealflow's database.
	AdminURL string
	// Prefix names the databases and the role (dealflow_stack: databases
	// dealflow_stack, dealflow_stack_temporal, ..._temporal_visibility).
	Prefix string
	// Fresh drops the databases first: a run that checks totals starts empty.
	Fresh bool
	// PortOffset moves every Temporal port (frontend 7233+offset).
	PortOffset int
	// HTTPPorts are the workers' HTTP ports, one worker process each.
	HTTPPorts []int
	// WorkerEnv is added to every worker's environment (tokens, Slack).
	WorkerEnv []string
	// Out receives the stack's own notes (restarts, steps).
	Out io.Writer
}

// Stack is a running production-shaped stack.
type Stack struct {
	opts     Options
	root     string
	bin      string
	Proxy    *Proxy
	Temporal *Process
	Workers  []*Process
	// Frontend is the Temporal frontend's host:port.
	Frontend string
	// DatabaseURL is dealflow's database, through the proxy.
	DatabaseURL string
	// DirectURL is dealflow's database without the proxy (for checks that
	// must not be cut off).
	DirectURL string
	// HTTP are the workers' base URLs, in order.
	HTTP []string
	// Databases are the stack's three database names.
	Databases []string
	logs      []*os.File
	mu        sync.Mutex
	notes     []Note
}

// Note is something the supervisor saw, with when.
type Note struct {
	At   time.Time
	Text string
}

const (
	temporalRole     = "_temporal"
	temporalPassword = "stack-temporal-password" // loopback only, for the local role
)

// Start builds what it needs (the pinned Temporal server, temporal-sql-tool
// and CLI from tools/go.mod, and the worker), sets PostgreSQL up, and
// starts every process. Stop ends them.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.AdminURL == "" {
		o.AdminURL = devstack.DefaultDatabaseURL
	}
	if o.Prefix == "" {
		o.Prefix = "dealflow_stack"
	}
	if len(o.HTTPPorts) == 0 {
		o.HTTPPorts = []int{18081, 18082}
	}
	if o.PortOffset == 0 {
		o.PortOffset = 10000
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	root, err := devstack.ModuleRoot()
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		o.Dir = filepath.Join(root, ".stack")
	}
	s := &Stack{opts: o, root: root, bin: filepath.Join(o.Dir, "bin")}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	if err := os.MkdirAll(s.bin, 0o755); err != nil {
		return nil, err
	}
	s.step("building the pinned Temporal server, temporal-sql-tool and CLI (tools/go.mod; minutes the first time) and the worker")
	if err := s.build(ctx); err != nil {
		return nil, err
	}
	s.Databases = []string{o.Prefix, o.Prefix + "_temporal", o.Prefix + "_temporal_visibility"}
	if err := s.setupPostgres(ctx); err != nil {
		return nil, err
	}
	admin, _ := url.Parse(o.AdminURL)
	if s.Proxy, err = NewProxy(admin.Host); err != nil {
		return nil, err
	}
	s.step("PostgreSQL " + admin.Host + " is reached through the proxy at " + s.Proxy.Addr)

	s.step("creating and updating Temporal's schemas (" + deploy.TemporalSchema + ")")
	schemaDir, err := s.schemaDir(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.script(ctx, deploy.TemporalSchema, "SQL_PLUGIN=postgres12", "SQL_HOST="+admin.Hostname(), "SQL_PORT="+portOf(admin),
		"SQL_USER="+o.Prefix+temporalRole, "SQL_PASSWORD="+temporalPassword, "SCHEMA_DIR="+schemaDir,
		"DBNAME="+s.Databases[1], "VISIBILITY_DBNAME="+s.Databases[2]); err != nil {
		return nil, err
	}

	// The server reads its configuration from a folder: the folder holds
	// a link to the shared template, which the server renders itself.
	cfgDir := filepath.Join(o.Dir, "temporal-config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return nil, err
	}
	link := filepath.Join(cfgDir, "dealflow.yaml")
	_ = os.Remove(link)
	if err := os.Symlink(filepath.Join(root, deploy.TemporalConfig), link); err != nil {
		return nil, err
	}
	proxyHost, proxyPort, _ := net.SplitHostPort(s.Proxy.Addr)
	s.Frontend = "127.0.0.1:" + strconv.Itoa(7233+o.PortOffset)
	tlog, err := s.logFile("temporal.log")
	if err != nil {
		return nil, err
	}
	s.Temporal = newProcess("temporal server", filepath.Join(s.bin, "temporal-server"),
		[]string{"--root", o.Dir, "--config", "temporal-config", "--env", "dealflow", "start"},
		append(os.Environ(), "POSTGRES_SEEDS="+proxyHost, "DB_PORT="+proxyPort, "POSTGRES_USER="+o.Prefix+temporalRole,
			"POSTGRES_PWD="+temporalPassword, "DBNAME="+s.Databases[1], "VISIBILITY_DBNAME="+s.Databases[2],
			"BIND_ON_IP=127.0.0.1", "TEMPORAL_PORT_OFFSET="+strconv.Itoa(o.PortOffset), "TEMPORAL_LOG_LEVEL=warn"),
		tlog, s.note)
	s.step("starting the Temporal server (" + deploy.TemporalConfig + "), frontend " + s.Frontend)
	if err := s.Temporal.run(); err != nil {
		return nil, err
	}
	s.step("registering the namespace and the search attributes (" + deploy.TemporalRegister + ")")
	if err := s.script(ctx, deploy.TemporalRegister, "TEMPORAL_ADDRESS="+s.Frontend, "NS=default", "RETENTION=72h"); err != nil {
		return nil, err
	}

	s.DirectURL = withDatabase(o.AdminURL, admin.Host, s.Databases[0])
	s.DatabaseURL = withDatabase(o.AdminURL, s.Proxy.Addr, s.Databases[0])
	for i, port := range o.HTTPPorts {
		name := fmt.Sprintf("worker-%d", i+1)
		wlog, err := s.logFile(name + ".log")
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		env := append(os.Environ(), "DATABASE_URL="+s.DatabaseURL, "TEMPORAL_ADDRESS="+s.Frontend, "TEMPORAL_NAMESPACE=default",
			"HTTP_ADDR="+addr)
		p := newProcess(name, filepath.Join(s.bin, "worker"), nil, append(env, o.WorkerEnv...), wlog, s.note)
		if err := p.run(); err != nil {
			return nil, err
		}
		s.Workers = append(s.Workers, p)
		s.HTTP = append(s.HTTP, "http://"+addr)
	}
	for _, u := range s.HTTP {
		if err := WaitHealthy(ctx, u, 2*time.Minute); err != nil {
			return nil, fmt.Errorf("%v (logs in %s)", err, o.Dir)
		}
	}
	s.step(fmt.Sprintf("%d workers on task queue deals, HTTP at %s", len(s.Workers), strings.Join(s.HTTP, " and ")))
	ok = true
	return s, nil
}

// Stop ends the workers, then the server, then the proxy.
func (s *Stack) Stop() {
	for _, w := range s.Workers {
		w.stop()
	}
	if s.Temporal != nil {
		s.Temporal.stop()
	}
	if s.Proxy != nil {
		s.Proxy.Close()
	}
	for _, f := range s.logs {
		f.Close()
	}
}

// Dir is where the stack keeps its logs.
func (s *Stack) Dir() string { return s.opts.Dir }

// Notes are the supervisor's notes so far (restarts, with their times).
func (s *Stack) Notes() []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Note(nil), s.notes...)
}

func (s *Stack) note(text string) {
	s.mu.Lock()
	s.notes = append(s.notes, Note{At: time.Now(), Text: text})
	s.mu.Unlock()
	fmt.Fprintf(s.opts.Out, "stack: %s\n", text)
}

func (s *Stack) step(text string) { fmt.Fprintf(s.opts.Out, "stack: %s\n", text) }

func (s *Stack) logFile(name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(s.opts.Dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err == nil {
		s.logs = append(s.logs, f)
	}
	return f, err
}

// build puts the binaries the stack runs into Dir/bin, under the names the
// shared scripts call them by (as in Temporal's images).
func (s *Stack) build(ctx context.Context) error {
	for tool, name := range map[string]string{"server": "temporal-server", "sql": "temporal-sql-tool", "temporal": "temporal"} {
		out, err := s.goCmd(ctx, "tool", "-modfile=tools/go.mod", "-n", tool)
		if err != nil {
			return err
		}
		link := filepath.Join(s.bin, name)
		_ = os.Remove(link)
		if err := os.Symlink(strings.TrimSpace(out), link); err != nil {
			return err
		}
	}
	_, err := s.goCmd(ctx, "build", "-o", filepath.Join(s.bin, "worker"), "./worker")
	return err
}

func (s *Stack) goCmd(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = s.root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// schemaDir is schema/postgresql/v12 of the pinned server module.
func (s *Stack) schemaDir(ctx context.Context) (string, error) {
	out, err := s.goCmd(ctx, "list", "-modfile=tools/go.mod", "-m", "-f", "{{.Dir}}", "go.temporal.io/server")
	if err != nil {
		return "", err
	}
	return filepath.Join(strings.TrimSpace(out), "schema", "postgresql", "v12"), nil
}

// script runs one of deploy's shared scripts with the stack's binaries
// first on PATH.
func (s *Stack) script(ctx context.Context, path string, env ...string) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", filepath.Join(s.root, path))
	cmd.Env = append(os.Environ(), append(env, "PATH="+s.bin+string(os.PathListSeparator)+os.Getenv("PATH"))...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v\n%s", path, err, out.String())
	}
	if l := lastLine(out.String()); l != "" {
		s.step(path + ": " + l)
	}
	return nil
}

// setupPostgres gives Temporal a role of its own, allowed to create its
// databases (as compose's schema job does), and creates dealflow's.
func (s *Stack) setupPostgres(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.opts.AdminURL)
	if err != nil {
		return fmt.Errorf("cannot reach PostgreSQL at %s: %w", s.opts.AdminURL, err)
	}
	defer conn.Close(ctx)
	role := s.opts.Prefix + temporalRole
	if s.opts.Fresh {
		for _, db := range s.Databases {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
				return err
			}
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s'", pgx.Identifier{role}.Sanitize(), temporalPassword)); err != nil {
			return err
		}
	}
	s.step("PostgreSQL role " + role + " for Temporal; databases " + strings.Join(s.Databases, ", "))
	return devstack.EnsureDatabase(ctx, withDatabase(s.opts.AdminURL, "", s.Databases[0]))
}

// WaitHealthy waits until base/healthz answers 200.
func WaitHealthy(ctx context.Context, base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	c := http.Client{Timeout: 3 * time.Second}
	for {
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/healthz did not answer 200 within %v", base, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL to a process; the supervisor restarts it.
func (p *Process) Kill() error { return p.Signal(syscall.SIGKILL) }

func withDatabase(base, host, db string) string {
	u, _ := url.Parse(base)
	if host != "" {
		u.Host = host
	}
	u.Path = "/" + db
	return u.String()
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "5432"
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
