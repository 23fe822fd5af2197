//go:build !failpoints

// Package failpoint kills the worker at a named point between an
// activity's side effect and its completion, in test builds only (the
// failpoints build tag); in this build Hit does nothing.
package failpoint

// Enabled is true in builds that can kill at a failpoint.
const Enabled = false

// Hit does nothing outside builds with the failpoints tag.
func Hit(string) {}
