//go:build unix

package main

import (
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// takeTerminal makes the dev-mode worker the terminal's foreground process
// group, as a shell does for a job, and returns what gives the terminal
// back. Ctrl-C then reaches the worker (and the dev server it started)
// alone: `go run` and make, which would otherwise also get the interrupt,
// report their child's clean exit 0 instead of "Error 1". Without a
// terminal (CI, tests, a pipe) it does nothing.
func takeTerminal() (restore func()) {
	orig, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err != nil {
		return func() {}
	}
	if err := syscall.Setpgid(0, 0); err != nil {
		return func() {}
	}
	// A background group that sets the terminal's foreground gets SIGTTOU.
	signal.Ignore(syscall.SIGTTOU)
	if err := unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, syscall.Getpgrp()); err != nil {
		return func() {}
	}
	return func() { _ = unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, orig) }
}
