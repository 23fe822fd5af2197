package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"dealflow/db"
	"dealflow/report"
)

// defaultDatabaseURL is the worker's default (server.DefaultDatabaseURL):
// the report reads the database the worker writes.
const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/dealflow?sslmode=disable"

// runReport prints the handover early-warning report. It is computed from
// the record in PostgreSQL (DATABASE_URL), not from Temporal: the same
// figures as the worker's /reports/handover page.
func runReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("report", "[--days N] [--json]   (reads the worker's database at DATABASE_URL)")
	days := fs.Int("days", report.DefaultDays, "the window: deals won in the last `N` days")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (see `starter report -h`)", fs.Arg(0))}
	}
	if *days < 1 || *days > 3660 {
		return usageError{fmt.Sprintf("--days must be from 1 to 3660, not %d", *days)}
	}
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		dbURL = defaultDatabaseURL
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pool, err := db.Connect(cctx, dbURL)
	if err != nil {
		return fmt.Errorf("cannot reach PostgreSQL at %s (%v); the report reads the worker's database: start PostgreSQL or set DATABASE_URL",
			db.Describe(dbURL), rootCause(err))
	}
	defer pool.Close()
	rep, err := report.Load(ctx, &db.Store{Pool: pool}, report.Options{Now: time.Now().UTC(), Days: *days})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return fmt.Errorf("the database at %s has no deals table: is DATABASE_URL the dealflow worker's database?", db.Describe(dbURL))
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return report.WriteText(stdout, rep)
}
