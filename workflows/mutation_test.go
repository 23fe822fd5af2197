//go:build long

package workflows

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMutationsFailReplay proves the corpus catches what it must: each
// patch in testdata/mutations (a reordered activity, a dropped timer, a
// changed activity input, an added command, a removed handler) is applied
// to a copy of the tree, and the replay tests must fail there, in a replay
// subtest (a patch that no longer applies or compiles fails this test,
// asking for `make mutations`). It builds and tests the tree several times,
// so it runs in `make long`, not `make test`.
func TestMutationsFailReplay(t *testing.T) {
	patches, err := filepath.Glob(filepath.Join("testdata", "mutations", "*.patch"))
	if err != nil || len(patches) == 0 {
		t.Fatalf("no mutation patches in testdata/mutations (%v); write them with `make mutations`", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("unchanged", func(t *testing.T) {
		if out, err := replayIn(t, copyTree(t, root)); err != nil {
			t.Fatalf("replay fails on an unchanged copy of the tree, so no mutation result means anything: %v\n%s", err, out)
		}
	})
	for _, p := range patches {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".patch"), func(t *testing.T) {
			dir := copyTree(t, root)
			patch, err := filepath.Abs(p)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("git", "apply", patch)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s no longer applies to today's code (%v: %s): fix its edit in devstack/mutations/main.go and run `make mutations`", p, err, bytes.TrimSpace(out))
			}
			out, err := replayIn(t, dir)
			switch {
			case err == nil:
				t.Fatalf("replay passed with %s applied: the corpus does not catch this change", p)
			case !replayFailed.Match(out):
				t.Fatalf("with %s applied the tests failed, but not in a replay (a build error?): fix its edit in devstack/mutations/main.go and run `make mutations`\n%s", p, out)
			}
			t.Logf("replay fails as it must: %s", firstError(out))
		})
	}
}

// replayFailed is a replay subtest's failure, as opposed to a build error.
var replayFailed = regexp.MustCompile(`--- FAIL: TestReplay/\S+\.json`)

func replayIn(t *testing.T, dir string) ([]byte, error) {
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestReplay$", "./workflows", "./intake")
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// firstError is the first line a failing test wrote: why replay failed.
func firstError(out []byte) string {
	if m := testError.Find(out); m != nil {
		return string(bytes.TrimSpace(m))
	}
	return "(no message)"
}

var testError = regexp.MustCompile(`(?m)^\s+\w+_test\.go:\d+: .{0,300}`)

// copyTree copies the module at root, without .git and build output, into
// a fresh temporary folder.
func copyTree(t *testing.T, root string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".dev", "bin", "node_modules":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
