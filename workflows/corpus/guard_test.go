package corpus

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpusGuard is the check CI runs on every change: no history
// recorded at the baseline was modified or deleted since.
func TestCorpusGuard(t *testing.T) {
	needGit(t)
	note, err := Guard(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(note)
}

// TestGuardCatchesChanges runs the guard on a repository of its own:
// before the freeze it passes, after it an added history passes and a
// modified, deleted or renamed one fails with the guard's message; a
// shallow clone without the baseline fails saying how to fetch it.
func TestGuardCatchesChanges(t *testing.T) {
	needGit(t)
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(repo, filepath.FromSlash(Dir), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pass := func(want string) {
		t.Helper()
		note, err := Guard(repo)
		if err != nil || !strings.Contains(note, want) {
			t.Fatalf("guard: %q, %v; want a pass saying %q", note, err, want)
		}
	}
	fail := func(want ...string) {
		t.Helper()
		_, err := Guard(repo)
		if err == nil {
			t.Fatalf("guard passed; want a failure saying %q", want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("guard: %v\nwant it to say %q", err, w)
			}
		}
		t.Logf("CI's message: %v", err)
	}

	git("init", "-q", "-b", "main")
	write("v1.0/deal-a.json", "{}\n")
	write("v1.0/deal-b.json", "{}\n")
	git("add", "-A")
	git("commit", "-qm", "corpus")
	pass("no corpus baseline yet")
	// Before the freeze a history may be re-recorded.
	write("v1.0/deal-a.json", "{\"re\":1}\n")
	git("commit", "-qam", "re-record")
	pass("no corpus baseline yet")

	// The freeze: BASELINE names the commit, in a commit of its own.
	frozen := git("rev-parse", "HEAD")
	write(BaselineFile, "# the v1.0 corpus\n"+frozen+"\n")
	git("add", "-A")
	git("commit", "-qm", "freeze")
	pass("unchanged")

	write("v1.1/deal-a.json", "{}\n")
	git("add", "-A")
	git("commit", "-qm", "add a history")
	pass("unchanged")

	// A modified history, uncommitted and then committed.
	write("v1.0/deal-a.json", "{\"edited\":1}\n")
	fail("modified "+Dir+"/v1.0/deal-a.json", "append-only since v1.0", "git checkout")
	git("commit", "-qam", "edit")
	fail("modified " + Dir + "/v1.0/deal-a.json")
	git("revert", "--no-edit", "HEAD")
	pass("unchanged")

	git("rm", "-q", filepath.Join(filepath.FromSlash(Dir), "v1.0", "deal-b.json"))
	git("commit", "-qm", "delete")
	fail("deleted " + Dir + "/v1.0/deal-b.json")
	git("revert", "--no-edit", "HEAD")
	pass("unchanged")

	git("mv", filepath.Join(filepath.FromSlash(Dir), "v1.0", "deal-b.json"), filepath.Join(filepath.FromSlash(Dir), "v1.0", "deal-c.json"))
	git("commit", "-qm", "rename")
	fail("deleted " + Dir + "/v1.0/deal-b.json")
	git("revert", "--no-edit", "HEAD")

	// Moving BASELINE past an edit does not hide the edit: the baseline is
	// what BASELINE said when it was added, and editing it shows too.
	write("v1.0/deal-a.json", "{\"edited\":2}\n")
	git("commit", "-qam", "edit")
	write(BaselineFile, git("rev-parse", "HEAD")+"\n")
	git("commit", "-qam", "move the baseline")
	fail(Dir + "/" + BaselineFile + " was changed or removed after the freeze")
	write(BaselineFile, "# the v1.0 corpus\n"+frozen+"\n")
	fail("modified " + Dir + "/v1.0/deal-a.json")
	git("checkout", "--", Dir)
	git("revert", "--no-edit", "HEAD")
	git("revert", "--no-edit", "HEAD~2")
	pass("unchanged")

	// The tag, when present, is the baseline, and must agree with the file.
	git("tag", BaselineTag, frozen)
	pass("unchanged")
	git("tag", "-f", BaselineTag, "HEAD")
	fail("tag v1.0 is commit")
	git("tag", "-f", BaselineTag, frozen)

	// A shallow clone that lacks the baseline says how to get it.
	shallow := t.TempDir()
	if out, err := exec.Command("git", "clone", "-q", "--depth", "1", "file://"+repo, shallow).CombinedOutput(); err != nil {
		t.Fatalf("shallow clone: %v\n%s", err, out)
	}
	if _, err := Guard(shallow); err == nil || !strings.Contains(err.Error(), "git fetch --unshallow") {
		t.Fatalf("guard on a shallow clone: %v; want it to ask for a full clone", err)
	}
}

func needGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the corpus guard needs git")
		}
		t.Skip("git is not installed")
	}
}
