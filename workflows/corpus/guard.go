package corpus

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// BaselineTag is the release whose corpus is frozen.
const BaselineTag = "v1.0"

// BaselineFile, in the corpus, holds the commit id of BaselineTag, written
// when the corpus is frozen: CI clones may come without tags, and the file
// travels with every clone.
const BaselineFile = "BASELINE"

// Guard checks the corpus of the git work tree at repo against the
// baseline: every file recorded at the baseline must be there unchanged
// (committed or not). Added files are fine: the corpus is append-only.
// Before a baseline exists it passes, and the note says so.
func Guard(repo string) (note string, err error) {
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := git("rev-parse", "--is-inside-work-tree"); err != nil {
		return "", fmt.Errorf("the corpus guard needs the git work tree: %w", err)
	}
	base, from, err := baseline(repo, git)
	if err != nil || base == "" {
		return from, err
	}
	if _, err := git("cat-file", "-e", base+"^{commit}"); err != nil {
		if shallow, _ := git("rev-parse", "--is-shallow-repository"); shallow == "true" {
			return "", fmt.Errorf("this clone is shallow and lacks the corpus baseline %s (%s): the corpus guard reads git history, so CI needs a full clone: run `git fetch --unshallow --tags`", short(base), from)
		}
		return "", fmt.Errorf("the corpus baseline %s (%s) is not a commit of this repository: run `git fetch --tags`, or fix %s", short(base), from, path.Join(Dir, BaselineFile))
	}
	out, err := git("diff", "--no-renames", "--name-status", base, "--", Dir)
	if err != nil {
		return "", err
	}
	var broken []string
	for _, line := range strings.Split(out, "\n") {
		status, file, ok := strings.Cut(line, "\t")
		if !ok || status == "A" {
			continue
		}
		what := map[string]string{"M": "modified", "D": "deleted", "T": "changed type"}[status]
		if what == "" {
			what = "changed (" + status + ")"
		}
		broken = append(broken, what+" "+file)
	}
	if len(broken) > 0 {
		return "", fmt.Errorf("the replay corpus is append-only since %s (commit %s), but this change %s: restore with `git checkout %s -- %s` and record new histories into a new folder (docs/upgrades.md)",
			BaselineTag, short(base), strings.Join(broken, ", "), short(base), Dir)
	}
	return fmt.Sprintf("the corpus holds every history of %s (commit %s) unchanged", BaselineTag, short(base)), nil
}

// baseline is the frozen commit: the tag when this clone has it, else the
// commit BaselineFile names. BaselineFile is read as the commit that first
// added it wrote it, so a later edit of it shows as a modified file instead
// of moving the baseline; before it is committed, the work tree's copy
// counts. Both tag and file present must agree.
func baseline(repo string, git func(...string) (string, error)) (commit, from string, err error) {
	rel := path.Join(Dir, BaselineFile)
	var body string
	added, err := git("log", "--diff-filter=A", "--format=%H", "--", rel)
	if err != nil {
		return "", "", err
	}
	if added != "" {
		lines := strings.Split(added, "\n")
		if body, err = git("show", lines[len(lines)-1]+":"+rel); err != nil {
			return "", "", err
		}
		if now, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(rel))); err != nil || strings.TrimSpace(string(now)) != body {
			return "", "", fmt.Errorf("%s was changed or removed after the freeze; it must keep naming the %s commit: restore it with `git checkout %s -- %s`",
				rel, BaselineTag, short(lines[len(lines)-1]), rel)
		}
	} else if b, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(rel))); err == nil {
		body = string(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	var fromFile string
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			fromFile = l
			break
		}
	}
	if body != "" && (len(fromFile) != 40 || strings.Trim(fromFile, "0123456789abcdef") != "") {
		return "", "", fmt.Errorf("%s must hold the 40-hex commit id of %s, not %q", rel, BaselineTag, fromFile)
	}
	tagged, terr := git("rev-parse", "-q", "--verify", "refs/tags/"+BaselineTag+"^{commit}")
	switch {
	case terr == nil && fromFile != "" && tagged != fromFile:
		return "", "", fmt.Errorf("tag %s is commit %s but %s says %s: the baseline is one commit", BaselineTag, short(tagged), rel, short(fromFile))
	case terr == nil:
		return tagged, "tag " + BaselineTag, nil
	case fromFile != "":
		return fromFile, rel, nil
	}
	return "", fmt.Sprintf("no corpus baseline yet (no tag %s, no %s): the corpus may still be re-recorded", BaselineTag, rel), nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
