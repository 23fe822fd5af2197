package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestWalkthrough runs examples/walkthrough.sh, the README's starter flow,
// against the dev mode as `make dev` starts it, and then reads /metrics on
// the operations listener (METRICS_ADDR) as Prometheus would: the intake and the alert the walk causes are counted,
// beside the SDK's own metrics.
func TestWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the walkthrough needs curl")
		}
		t.Skip("the walkthrough needs curl")
	}
	const token = "walk-finance-s3cret-0123456789abcdef"
	w := startDevWorker(t, "FINANCE_API_TOKEN="+token)

	script, err := filepath.Abs("../examples/walkthrough.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script)
	cmd.Env = append(os.Environ(), append(w.env, "FINANCE_API_TOKEN="+token)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough: %v\n%s\nworker log:\n%s", err, out, w.stderr.String())
	}
	// The script checks every answer itself; these are the few lines that
	// show it got to the end rather than stopping early with exit 0.
	for _, want := range []string{"refused: the client signs scoping off after the internal approval",
		"commitments not acknowledged: c2", "Stage:     closed_won", "went from open to closed won"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walkthrough's output lacks %q:\n%s", want, out)
		}
	}

	resp, err := http.Get("http://127.0.0.1:" + w.ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	metrics := string(body)
	for _, name := range []string{"dealflow_intake_rows_total", "dealflow_margin_alerts_total"} {
		if !regexp.MustCompile(`(?m)^` + name + `\{[^}]*\} [1-9]`).MatchString(metrics) {
			t.Errorf("/metrics has no non-zero %s:\n%s", name, grepLines(metrics, "dealflow_"))
		}
	}
	if !regexp.MustCompile(`(?m)^temporal_\w+`).MatchString(metrics) {
		t.Errorf("/metrics has none of the SDK's temporal_* metrics")
	}
}

func grepLines(text, prefix string) string {
	var keep []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
