//go:build failpoints

// Package failpoint kills the worker at a named point between an
// activity's side effect and its completion, so tests can show that the
// retry after the crash changes nothing people see. It is compiled only
// into builds with the failpoints tag; every other build gets the no-op in
// off.go.
package failpoint

import (
	"os"
	"strings"
	"syscall"
)

// Enabled is true in builds that can kill at a failpoint.
const Enabled = true

// Hit kills this process with SIGKILL, at once and without cleanup, when
// name is armed: what a power cut or the OOM killer does.
func Hit(name string) {
	for _, armed := range strings.Split(os.Getenv(Env), ",") {
		if armed == name {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}
