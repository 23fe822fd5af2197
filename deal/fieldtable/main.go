// Command fieldtable writes deal.FieldTable into README.md between its
// field-table markers, so the README shows the rules the code enforces
// (TestREADMEFieldTable fails when they differ).
//
//	go run ./deal/fieldtable
package main

import (
	"fmt"
	"os"

	"dealflow/deal"
)

func main() {
	b, err := os.ReadFile("README.md")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldtable: run it from the repository root:", err)
		os.Exit(1)
	}
	out, err := deal.WithFieldTable(string(b))
	if err == nil {
		err = os.WriteFile("README.md", []byte(out), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldtable: README.md:", err)
		os.Exit(1)
	}
}
