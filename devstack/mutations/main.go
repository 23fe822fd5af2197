// Command mutations writes the mutation patches that
// workflows/mutation_test.go applies, one by one, to a copy of the tree to
// prove that the replay corpus catches each kind of breaking change. Each
// mutation is described below as a text edit; when the workflow code
// moves, fix the edit's text here and run `make mutations` again.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"dealflow/devstack"
)

// Dir holds the patches, relative to the module root.
const Dir = "workflows/testdata/mutations"

// A mutation replaces old (found exactly once) by new in file.
type mutation struct {
	name, about, file, old, new string
}

var mutations = []mutation{
	{"reorder-activities", "the ledger loop starts before the write loop, so their activities are scheduled in the other order",
		"workflows/deal.go",
		"\tworkflow.Go(ctx, w.writeLoop)\n\tworkflow.Go(ctx, w.notifyLoop)\n\tworkflow.Go(ctx, w.ledgerLoop)\n",
		"\tworkflow.Go(ctx, w.ledgerLoop)\n\tworkflow.Go(ctx, w.notifyLoop)\n\tworkflow.Go(ctx, w.writeLoop)\n"},
	{"drop-timer", "the hand-over no longer waits a quiet moment (one timer fewer before a run ends)",
		"workflows/deal.go",
		"\t\tif err := workflow.Sleep(ctx, quietMoment); err != nil {\n",
		"\t\tif err := ctx.Err(); err != nil {\n"},
	{"activity-input-shape", "ClaimDeal's request renames a field (first_run_id)",
		"activities/activities.go",
		"\tFirstRunID string     `json:\"first_run_id\"`\n",
		"\tFirstRunID string     `json:\"first_run\"`\n"},
	{"add-command", "the deal sets a memo when it starts (a command the histories lack)",
		"workflows/deal.go",
		"\tw.ready = true\n",
		"\tw.ready = true\n\tif err := workflow.UpsertMemo(ctx, map[string]any{\"dealflow\": \"1.1\"}); err != nil {\n\t\treturn nil, err\n\t}\n"},
	{"remove-update-handler", "the `invoices` update handler is gone (registered under another name)",
		"workflows/deal.go",
		"\treturn workflow.SetUpdateHandlerWithOptions(ctx, UpdateInvoices,\n",
		"\treturn workflow.SetUpdateHandlerWithOptions(ctx, \"removed-\"+UpdateInvoices,\n"},
	{"intake-reorder-activities", "the intake job finishes before it takes the deals' rows",
		"intake/workflow.go",
		"\tvar j *JobActivities\n\tfor {\n",
		"\tvar j *JobActivities\n\tif err := workflow.ExecuteActivity(ctx, j.Finish, in.JobID).Get(ctx, nil); err != nil {\n\t\treturn err\n\t}\n\tfor {\n"},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mutations:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := devstack.ModuleRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, filepath.FromSlash(Dir))
	old, _ := filepath.Glob(filepath.Join(dir, "*.patch"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, m := range mutations {
		patch, err := m.patch(root)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%02d-%s.patch", i+1, m.name)
		header := fmt.Sprintf("Mutation %s: %s.\nMade by `make mutations` (devstack/mutations); replay of the corpus must fail with it.\n\n", m.name, m.about)
		if err := os.WriteFile(filepath.Join(dir, name), append([]byte(header), patch...), 0o644); err != nil {
			return err
		}
		fmt.Println(filepath.Join(Dir, name))
	}
	return nil
}

// patch is the unified diff of the edit, applicable with `git apply` at the
// module root.
func (m mutation) patch(root string) ([]byte, error) {
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(m.file)))
	if err != nil {
		return nil, err
	}
	if n := strings.Count(string(src), m.old); n != 1 {
		return nil, fmt.Errorf("mutation %s: the text to replace is in %s %d times, not once: update it in devstack/mutations/main.go", m.name, m.file, n)
	}
	tmp, err := os.MkdirTemp("", "mutation-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	if err := os.WriteFile(a, src, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(b, []byte(strings.Replace(string(src), m.old, m.new, 1)), 0o644); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	cmd := exec.Command("diff", "-u", "--label", "a/"+m.file, "--label", "b/"+m.file, a, b)
	cmd.Stdout = &out
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 { // 1: the files differ
		return nil, fmt.Errorf("mutation %s: diff: %v", m.name, err)
	}
	return out.Bytes(), nil
}
