// Command fieldtable writes deal.FieldTable into README.md between its
// field-table markers, so the README shows the rules the code enforces
// (TestREADMEFieldTable fails when they differ).
//
//	go run ./deal/fieldtable
package main

import (
	"fmt"
	"os"
	"strings"

	"dealflow/deal"
)

const begin, end = "<!-- field-table:begin -->\n", "<!-- field-table:end -->"

func main() {
	b, err := os.ReadFile("README.md")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldtable: run it from the repository root:", err)
		os.Exit(1)
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		fmt.Fprintf(os.Stderr, "fieldtable: README.md has no %q … %q markers\n", begin, end)
		os.Exit(1)
	}
	out := s[:i+len(begin)] + deal.FieldTable() + s[j:]
	if err := os.WriteFile("README.md", []byte(out), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "fieldtable:", err)
		os.Exit(1)
	}
}
