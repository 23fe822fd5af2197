package deploy

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"dealflow/metrics"
	"dealflow/workflows"
)

type composeFile struct {
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image       string                `yaml:"image"`
	Build       any                   `yaml:"build"`
	DependsOn   map[string]dependency `yaml:"depends_on"`
	Ports       []string              `yaml:"ports"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Restart     string            `yaml:"restart"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
}

type dependency struct {
	Condition string `yaml:"condition"`
}

// read is a file of the repository, relative to this folder.
func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readCompose(t *testing.T) (composeFile, string) {
	t.Helper()
	b := read(t, "../docker-compose.yml")
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c, string(b)
}

// TestComposeStructure checks the production stack for what a first boot
// needs: every service either reports its health or is a one-shot job that
// starts only after what it needs, nothing listens beyond the host, the
// search attributes are registered after the namespace exists and their
// failure stops the worker, and no failure is hidden.
func TestComposeStructure(t *testing.T) {
	c, text := readCompose(t)
	if len(c.Services) == 0 {
		t.Fatal("no services")
	}
	for name, s := range c.Services {
		oneShot := s.Restart == "no"
		switch {
		case oneShot && s.Healthcheck != nil:
			t.Errorf("%s: a one-shot job has no health to check", name)
		case oneShot && len(s.DependsOn) == 0:
			t.Errorf("%s: a one-shot job must wait for what it needs (depends_on with conditions)", name)
		case !oneShot && (s.Healthcheck == nil || len(s.Healthcheck.Test) == 0):
			t.Errorf("%s: a long-running service needs a healthcheck", name)
		}
		for dep, d := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on %s, which is not a service", name, dep)
			}
			want := "service_healthy"
			if c.Services[dep].Restart == "no" {
				want = "service_completed_successfully"
			}
			if d.Condition != want {
				t.Errorf("%s depends on %s with condition %q, want %q", name, dep, d.Condition, want)
			}
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q beyond the host: bind it to 127.0.0.1", name, p)
			}
		}
		if strings.Contains(s.Image, "auto-setup") {
			t.Errorf("%s uses %s, Temporal's development image", name, s.Image)
		}
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s has neither image nor build", name)
		}
	}
	if d := c.Services["temporal-register"].DependsOn["temporal"]; d.Condition != "service_healthy" {
		t.Errorf("the registration must wait for a healthy server, not %q", d.Condition)
	}
	if d := c.Services["temporal"].DependsOn["temporal-schema"]; d.Condition != "service_completed_successfully" {
		t.Errorf("the server must wait for its schema, not %q", d.Condition)
	}
	if d := c.Services["worker"].DependsOn["temporal-register"]; d.Condition != "service_completed_successfully" {
		t.Errorf("the worker must not start without its search attributes, not %q", d.Condition)
	}
	if m := regexp.MustCompile(`(;|\|\|)\s*true\b`).FindString(text); m != "" {
		t.Errorf("docker-compose.yml hides a failure with %q", m)
	}
	schema := string(read(t, filepath.Join("..", TemporalSchema)))
	for _, want := range []string{"temporal_visibility", "create-database", "setup-schema", "update-schema", "set -eu"} {
		if !strings.Contains(schema, want) {
			t.Errorf("%s does not run %q", TemporalSchema, want)
		}
	}
	register := string(read(t, filepath.Join("..", TemporalRegister)))
	for _, want := range []string{"exit 1", "set -eu", "namespace create", "search-attribute create"} {
		if !strings.Contains(register, want) {
			t.Errorf("%s does not say %q (a bounded wait, no hidden failure, the namespace and the attributes)", TemporalRegister, want)
		}
	}
	// The databases are created by postgres-roles, owned by the temporal
	// role, which may not create databases itself.
	if d := c.Services["temporal-schema"].DependsOn["postgres-roles"]; d.Condition != "service_completed_successfully" {
		t.Errorf("the schema job must wait for the roles and databases, not %q", d.Condition)
	}
}

// TestComposeRegistersTheWorkflowsAttributes: the attributes the shared
// registration script registers are exactly those the workflow upserts,
// with their types.
func TestComposeRegistersTheWorkflowsAttributes(t *testing.T) {
	cmd := string(read(t, filepath.Join("..", TemporalRegister)))
	var got []string
	for _, m := range regexp.MustCompile(`\b([A-Z][A-Za-z]+):(Keyword|Double|Int|Bool|Datetime|Text|KeywordList)\b`).FindAllStringSubmatch(cmd, -1) {
		got = append(got, m[1]+":"+m[2])
	}
	var want []string
	for k := range workflows.SearchAttributes.GetUntypedValues() {
		typ := strings.TrimPrefix(k.GetValueType().String(), "INDEXED_VALUE_TYPE_")
		want = append(want, k.GetName()+":"+strings.ToUpper(typ[:1])+strings.ToLower(typ[1:]))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s registers %v, the workflow upserts %v", TemporalRegister, got, want)
	}
}

// TestComposeVersionsMatchTheDevServer: production runs the server and UI
// the tests run against (tools/go.mod pins them through the Temporal CLI).
func TestComposeVersionsMatchTheDevServer(t *testing.T) {
	mod := read(t, "../tools/go.mod")
	version := func(module string) string {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+v(\S+)`).FindSubmatch(mod)
		if m == nil {
			t.Fatalf("tools/go.mod does not require %s", module)
		}
		return string(m[1])
	}
	server, ui := version("go.temporal.io/server"), version("github.com/temporalio/ui-server/v2")
	c, _ := readCompose(t)
	seen := map[string]bool{}
	for name, s := range c.Services {
		repo, tag, _ := strings.Cut(s.Image, ":")
		switch repo {
		case "temporalio/server":
			if tag != server {
				t.Errorf("%s runs server %s, the dev server is %s", name, tag, server)
			}
		case "temporalio/admin-tools":
			// Tags read 1.29.1-tctl-…-cli-…; the schema must match the server.
			if tag != server && !strings.HasPrefix(tag, server+"-") {
				t.Errorf("%s runs admin-tools %s, the server is %s", name, tag, server)
			}
		case "temporalio/ui":
			if tag != ui {
				t.Errorf("%s runs UI %s, the dev server's is %s", name, tag, ui)
			}
		}
		seen[repo] = true
	}
	for _, repo := range []string{"temporalio/server", "temporalio/admin-tools", "temporalio/ui"} {
		if !seen[repo] {
			t.Errorf("no service runs %s", repo)
		}
	}
}

// TestComposeKeepsThePasswordOutOfURLs: a password with @ or / would break
// a URL it is pasted into, and a URL ends up in logs.
func TestComposeKeepsThePasswordOutOfURLs(t *testing.T) {
	c, _ := readCompose(t)
	for name, s := range c.Services {
		for k, v := range s.Environment {
			if strings.Contains(v, "://") && strings.Contains(v, "PASSWORD") {
				t.Errorf("%s: %s puts a password into a URL: %s", name, k, v)
			}
		}
	}
	dbURL := c.Services["worker"].Environment["DATABASE_URL"]
	def := regexp.MustCompile(`^\$\{DATABASE_URL:-(.*)\}$`).FindStringSubmatch(dbURL)
	if def == nil {
		t.Fatalf("the worker's DATABASE_URL %q is not an operator-overridable default", dbURL)
	}
	u, err := url.Parse(def[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, has := u.User.Password(); has {
		t.Errorf("the default DATABASE_URL holds a password")
	}
	if c.Services["worker"].Environment["PGPASSWORD"] == "" {
		t.Error("the worker gets no PGPASSWORD")
	}
}

// TestMonitoringIsWired: Prometheus scrapes the worker's /metrics, Grafana
// is provisioned with the dashboard, and the dashboard shows every counter
// the metrics package exports.
func TestMonitoringIsWired(t *testing.T) {
	c, _ := readCompose(t)
	var pc struct {
		ScrapeConfigs []struct {
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(read(t, "prometheus/prometheus.yml"), &pc); err != nil {
		t.Fatal(err)
	}
	scrapesWorker := false
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			if slices.Contains(st.Targets, "worker:9464") && (sc.MetricsPath == "" || sc.MetricsPath == "/metrics") {
				scrapesWorker = true
			}
		}
	}
	if !scrapesWorker {
		t.Error("prometheus does not scrape worker:9464/metrics (METRICS_ADDR)")
	}
	if !slices.Contains(c.Services["prometheus"].Volumes, "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro") {
		t.Error("the prometheus service does not mount deploy/prometheus/prometheus.yml")
	}
	if !slices.ContainsFunc(c.Services["grafana"].Volumes, func(v string) bool { return strings.HasPrefix(v, "./deploy/grafana/dealflow.json:") }) {
		t.Error("the grafana service does not mount the dashboard")
	}

	var exprs []string
	for _, p := range readDashboard(t) {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	if len(metrics.Names()) < 5 {
		t.Fatalf("the metrics package names %v, want at least 5", metrics.Names())
	}
	for _, n := range metrics.Names() {
		if !strings.Contains(all, n) {
			t.Errorf("the dashboard does not show %s", n)
		}
	}
	if !strings.Contains(all, "temporal_") {
		t.Error("the dashboard shows none of the Temporal SDK's metrics")
	}
}

// dashPanel is a panel of the Grafana dashboard, as far as the tests look.
type dashPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func readDashboard(t *testing.T) []dashPanel {
	t.Helper()
	var dash struct {
		Panels []dashPanel `json:"panels"`
	}
	if err := json.Unmarshal(read(t, "grafana/dealflow.json"), &dash); err != nil {
		t.Fatalf("grafana/dealflow.json: %v", err)
	}
	return dash.Panels
}

// TestWorkflowTaskFailuresWatched checks that the SDK's workflow task
// failure counter has a panel of its own and an alert rule that Prometheus
// loads: a failing task stands a deal still while the rest looks healthy.
func TestWorkflowTaskFailuresWatched(t *testing.T) {
	metric := metrics.WorkflowTaskFailed + "_total"
	panel := false
	for _, p := range readDashboard(t) {
		if len(p.Targets) == 1 && strings.Contains(p.Targets[0].Expr, metric) && strings.Contains(p.Targets[0].Expr, "failure_reason") {
			panel = true
		}
	}
	if !panel {
		t.Errorf("no dashboard panel shows %s by failure_reason", metric)
	}

	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(read(t, "prometheus/alerts.yml"), &rules); err != nil {
		t.Fatalf("prometheus/alerts.yml: %v", err)
	}
	alert := false
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && strings.Contains(r.Expr, metric) && strings.Contains(r.Expr, "> 0") && r.Annotations["summary"] != "" {
				alert = true
			}
		}
	}
	if !alert {
		t.Errorf("prometheus/alerts.yml has no alert on %s > 0 with a summary", metric)
	}
	var pc struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	if err := yaml.Unmarshal(read(t, "prometheus/prometheus.yml"), &pc); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pc.RuleFiles, "/etc/prometheus/alerts.yml") {
		t.Error("prometheus.yml does not load /etc/prometheus/alerts.yml")
	}
	c, _ := readCompose(t)
	if !slices.Contains(c.Services["prometheus"].Volumes, "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro") {
		t.Error("the prometheus service does not mount deploy/prometheus/alerts.yml")
	}
}

// TestComposeConfig has a compose CLI validate the file the way `docker
// compose up` reads it, with dummy secrets. Our machines have no Docker
// engine; Debian's docker-compose validates without one.
func TestComposeConfig(t *testing.T) {
	var cmd *exec.Cmd
	switch {
	case exec.Command("docker", "compose", "version").Run() == nil:
		cmd = exec.Command("docker", "compose", "config", "-q")
	case func() bool { _, err := exec.LookPath("docker-compose"); return err == nil }():
		cmd = exec.Command("docker-compose", "config", "-q")
	case os.Getenv("CI") == "":
		t.Skip("no compose CLI (apt-get install docker-compose); CI installs it and fails without it")
	default:
		t.Fatal("no compose CLI; .ci/run installs Debian's docker-compose")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Dir = root
	secrets := []string{"POSTGRES_PASSWORD=p@ss/w:rd#1", "DEALFLOW_DB_PASSWORD=dummy", "TEMPORAL_DB_PASSWORD=dummy", "DASHBOARD_TOKEN=dummy", "GRAFANA_ADMIN_PASSWORD=dummy"}
	cmd.Env = append(os.Environ(), secrets...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out.String())
	}

	// Without the required secrets the stack refuses to start.
	bare := exec.Command(cmd.Args[0], cmd.Args[1:]...)
	bare.Dir = root
	for _, kv := range os.Environ() {
		if !slices.ContainsFunc(secrets, func(s string) bool { k, _, _ := strings.Cut(s, "="); return strings.HasPrefix(kv, k+"=") }) {
			bare.Env = append(bare.Env, kv)
		}
	}
	if out, err := bare.CombinedOutput(); err == nil || !strings.Contains(string(out), "POSTGRES_PASSWORD") {
		t.Errorf("without POSTGRES_PASSWORD the compose CLI did not refuse: %v\n%s", err, out)
	}
}

// TestComposeLeastPrivilege: Temporal and dealflow connect to PostgreSQL
// as roles of their own, which postgres-roles makes neither superusers nor
// able to create databases or roles; only that job holds the superuser's
// password. .env, where the secrets live, never reaches an image.
func TestComposeLeastPrivilege(t *testing.T) {
	c, _ := readCompose(t)
	roles := c.Services["postgres-roles"]
	script := strings.Join(roles.Command, "\n")
	for _, role := range []string{"dealflow", "temporal"} {
		if !regexp.MustCompile(`ALTER ROLE ` + role + ` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`).MatchString(script) {
			t.Errorf("postgres-roles does not make %s a plain role", role)
		}
	}
	if !strings.Contains(script, "REVOKE ALL ON DATABASE dealflow, temporal, temporal_visibility FROM PUBLIC") {
		t.Error("postgres-roles leaves the databases open to every role")
	}
	for name, s := range c.Services {
		for k, v := range s.Environment {
			if strings.Contains(v, "POSTGRES_PASSWORD") && name != "postgres" && name != "postgres-roles" {
				t.Errorf("%s: %s carries the superuser's password", name, k)
			}
		}
	}
	for name, want := range map[string]string{"temporal": "temporal", "temporal-schema": "temporal"} {
		env := c.Services[name].Environment
		if env["POSTGRES_USER"] != want && env["SQL_USER"] != want {
			t.Errorf("%s connects as %q/%q, want %s", name, env["POSTGRES_USER"], env["SQL_USER"], want)
		}
	}
	if u, err := url.Parse(strings.TrimSuffix(strings.TrimPrefix(c.Services["worker"].Environment["DATABASE_URL"], "${DATABASE_URL:-"), "}")); err != nil || u.User.Username() != "dealflow" {
		t.Errorf("the worker connects as %v (%v), want dealflow", u, err)
	}
	ignore := string(read(t, "../.dockerignore"))
	if !regexp.MustCompile(`(?m)^\.env$`).MatchString(ignore) {
		t.Error(".dockerignore does not hold .env: the secrets would be copied into the image")
	}
}
