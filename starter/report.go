package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"dealflow/report"
)

// defaultDatabaseURL is the worker's default (server.DefaultDatabaseURL):
// the report reads the database the worker writes.

// runReport prints the handover early-warning report. It is computed from
// the record in PostgreSQL (DATABASE_URL), not from Temporal: the same
// figures as the worker's /reports/handover page.
func runReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("report", "[--days N] [--json | --csv]   (reads the worker's database at DATABASE_URL)")
	days := fs.Int("days", report.DefaultDays, "the window: deals won in the last `N` days")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text")
	asCSV := fs.Bool("csv", false, "print the five warning signs per AE and PM as CSV instead of text")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (see `starter report -h`)", fs.Arg(0))}
	}
	if *days < 1 || *days > 3660 {
		return usageError{fmt.Sprintf("--days must be from 1 to 3660, not %d", *days)}
	}
	lag, err := report.CloseLagDaysFromEnv()
	if err != nil {
		return usageError{err.Error()}
	}
	store, closeStore, err := openStore(ctx, "the report")
	if err != nil {
		return err
	}
	defer closeStore()
	rep, err := report.Load(ctx, store, report.Options{Now: time.Now().UTC(), Days: *days, CloseLagDays: lag})
	if err != nil {
		return notOurDatabase(err)
	}
	if *asCSV {
		return report.WriteCSV(stdout, rep)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return report.WriteText(stdout, rep)
}
