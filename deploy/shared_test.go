package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestComposeAndTheLocalStackShareTheTemporalFiles: docker-compose.yml and
// `make stack` (devstack/prodstack) run one server configuration template,
// one set of schema commands and one registration script, so running the
// local stack (make soak, make long) tests compose's commands. Compose
// mounts the files and runs them; the local stack names them through this
// package's constants and carries no second copy of their commands.
func TestComposeAndTheLocalStackShareTheTemporalFiles(t *testing.T) {
	c, _ := readCompose(t)
	// A service's mounts, as repository file -> path in the container.
	mounts := func(svc string) map[string]string {
		m := map[string]string{}
		for _, v := range c.Services[svc].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && strings.HasPrefix(parts[0], "./") {
				m[strings.TrimPrefix(parts[0], "./")] = parts[1]
			}
		}
		return m
	}
	// inContainer is where a repository file is inside svc, through a
	// mount of the file or of its folder.
	inContainer := func(svc, file string) string {
		for src, dst := range mounts(svc) {
			if src == file {
				return dst
			}
			if rel, ok := strings.CutPrefix(file, src+"/"); ok {
				return dst + "/" + rel
			}
		}
		return ""
	}
	for _, job := range []struct{ svc, script string }{{"temporal-schema", TemporalSchema}, {"temporal-register", TemporalRegister}} {
		at := inContainer(job.svc, job.script)
		if at == "" {
			t.Errorf("compose's %s does not mount %s", job.svc, job.script)
			continue
		}
		if run := append(c.Services[job.svc].Entrypoint, c.Services[job.svc].Command...); !slices.Contains(run, at) {
			t.Errorf("compose's %s runs %v, not the shared %s (%s)", job.svc, run, job.script, at)
		}
	}
	cfg := inContainer("temporal", TemporalConfig)
	if cfg == "" {
		t.Fatalf("compose's temporal service does not mount %s", TemporalConfig)
	}
	// temporal-server --root R --config C --env E reads R/C/E.yaml.
	start := strings.Join(c.Services["temporal"].Command, "\n")
	m := regexp.MustCompile(`temporal-server --root (\S+) --config (\S+) --env (\S+) start`).FindStringSubmatch(start)
	if m == nil || filepath.Join(m[1], m[2], m[3]+".yaml") != cfg {
		t.Errorf("compose's temporal server does not start on the mounted %s (%s): %q", TemporalConfig, cfg, start)
	}

	// No compose service and no file of the local stack spells the
	// commands out again.
	for name, s := range c.Services {
		run := strings.Join(append(s.Entrypoint, s.Command...), "\n")
		for _, own := range []string{"temporal-sql-tool", "search-attribute create", "namespace create"} {
			if strings.Contains(run, own) {
				t.Errorf("compose's %s runs %q itself instead of the shared scripts", name, own)
			}
		}
	}
	stack := readGo(t, "../devstack/prodstack")
	for _, want := range []string{"deploy.TemporalConfig", "deploy.TemporalSchema", "deploy.TemporalRegister"} {
		if !strings.Contains(stack, want) {
			t.Errorf("devstack/prodstack does not run %s", want)
		}
	}
	for _, own := range []string{"setup-schema", "update-schema", "search-attribute create", "numHistoryShards"} {
		if strings.Contains(stack, own) {
			t.Errorf("devstack/prodstack spells %q out itself instead of using the shared files", own)
		}
	}
}

// TestTemporalConfigIsATemplateOfTheEnvironment: the server renders the
// shared configuration itself only when "enable-template" is in a comment
// of its first KiB; every variable it needs (no default, no "with") is one
// compose gives the server (or its start command sets) and the local stack
// sets too.
func TestTemporalConfigIsATemplateOfTheEnvironment(t *testing.T) {
	b := read(t, filepath.Join("..", TemporalConfig))
	head := string(b[:min(len(b), 1024)])
	if !regexp.MustCompile(`(?m)^#.*enable-template`).MatchString(head) {
		t.Fatalf("%s has no enable-template comment in its first KiB: the server would read the template unrendered", TemporalConfig)
	}
	c, _ := readCompose(t)
	srv := c.Services["temporal"]
	start := strings.Join(srv.Command, "\n")
	stack := readGo(t, "../devstack/prodstack")
	for _, m := range regexp.MustCompile(`(with )?env "([A-Z_]+)"( \| default)?`).FindAllStringSubmatch(string(b), -1) {
		name, optional := m[2], m[1] != "" || m[3] != ""
		if optional { // a default, or a block left out when unset
			continue
		}
		if _, ok := srv.Environment[name]; !ok && !strings.Contains(start, name+"=") {
			t.Errorf("%s needs %s, which compose's temporal service does not set", TemporalConfig, name)
		}
		if !strings.Contains(stack, `"`+name+`=`) {
			t.Errorf("%s needs %s, which devstack/prodstack does not set", TemporalConfig, name)
		}
	}
}

// readGo is the Go source of a folder, tests left out.
func readGo(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	var sb strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(b)
	}
	return sb.String()
}
