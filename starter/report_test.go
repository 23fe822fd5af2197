package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"dealflow/db"
	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/report"
	"dealflow/report/reporttest"
	"dealflow/server"
)

// TestReport seeds a database of its own with three drifting deals for one
// AE and two healthy ones for another, written by the Store the activities
// use, and checks `starter report` flags exactly the first, as text and
// as JSON.
func TestReport(t *testing.T) {
	ctx := context.Background()
	dbURL, drop, err := dbtest.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	pool, err := db.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := db.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := &db.Store{Pool: pool}
	now := time.Now().UTC()
	seed := func(r *deal.Record, err error) {
		t.Helper()
		if err == nil {
			// Written whole (db.Store.ImportRecord), without its workflow.
			err = store.ImportRecord(ctx, r, nil, "seed-"+r.Terms.DealID)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	seed(reporttest.Drifting("d1", "U_AE_DRIFT", "U_PM_ONE", now.AddDate(0, 0, -70)))
	seed(reporttest.Drifting("d2", "U_AE_DRIFT", "U_PM_ONE", now.AddDate(0, 0, -45)))
	seed(reporttest.Drifting("d3", "U_AE_DRIFT", "U_PM_TWO", now.AddDate(0, 0, -5)))
	seed(reporttest.Healthy("h1", "U_AE_FINE", "U_PM_TWO", now.AddDate(0, 0, -30)))
	seed(reporttest.Healthy("h2", "U_AE_FINE", "U_PM_TWO", now.AddDate(0, 0, -3)))
	// Names as the worker caches them from Slack; U_AE_FINE has none.
	if err := store.SavePerson(ctx, "U_AE_DRIFT", "dana", "Dana Drift", now); err != nil {
		t.Fatal(err)
	}
	if err := store.SavePerson(ctx, "U_PM_TWO", "tomas", "", now); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", dbURL)

	var out bytes.Buffer
	if err := runReport(ctx, []string{"--json"}, &out); err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if len(rep.Flags) != 1 || rep.Flags[0].AE != "U_AE_DRIFT" || len(rep.Deals) != 5 {
		t.Fatalf("flags %+v over %d deals; want U_AE_DRIFT alone over 5", rep.Flags, len(rep.Deals))
	}
	// The JSON keeps ids in the figures and gives the names beside them.
	if want := (deal.Names{"U_AE_DRIFT": "Dana Drift", "U_PM_TWO": "tomas"}); len(rep.Names) != 2 || rep.Names["U_AE_DRIFT"] != want["U_AE_DRIFT"] || rep.Names["U_PM_TWO"] != want["U_PM_TWO"] {
		t.Errorf("--json names %v, want %v", rep.Names, want)
	}

	out.Reset()
	if err := runReport(ctx, nil, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Count(text, "FLAGGED") != 2 || !strings.Contains(text, "FLAGGED Dana Drift (U_AE_DRIFT): the last 3 deals") {
		t.Errorf("text report should flag Dana Drift (U_AE_DRIFT) alone (once above, once in its table row):\n%s", text)
	}
	for _, want := range []string{"d3  Globex / Data platform d3", "  U_AE_FINE  ", "  tomas (U_PM_TWO)  ", "  Dana Drift (U_AE_DRIFT)  ", "What the figures mean"} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}

	// Over 40 days the drifting AE has two deals left: no flag.
	out.Reset()
	if err := runReport(ctx, []string{"--days", "40", "--json"}, &out); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Flags) != 0 {
		t.Errorf("--days 40: flags %+v (%v), want none", rep.Flags, err)
	}

	var stderr bytes.Buffer
	if code := run(ctx, []string{"report", "--days", "0"}, &out, &stderr); code != 2 || !strings.Contains(stderr.String(), "--days must be from 1 to 3660") {
		t.Errorf("--days 0: exit %d, %q; want 2 and the range", code, stderr.String())
	}
	t.Setenv("DATABASE_URL", "postgres://postgres:hunter2@127.0.0.1:1/dealflow?sslmode=disable")
	stderr.Reset()
	code := run(ctx, []string{"report"}, &out, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `cannot reach PostgreSQL at 127.0.0.1:1, database "dealflow"`) || strings.Contains(stderr.String(), "hunter2") {
		t.Errorf("unreachable database: exit %d, %q; want 1 and the redacted URL", code, stderr.String())
	}
}

// The report reads where the worker writes by default.
func TestReportDefaultDatabase(t *testing.T) {
	if defaultDatabaseURL != server.DefaultDatabaseURL {
		t.Fatalf("starter report reads %s by default, the worker writes %s", defaultDatabaseURL, server.DefaultDatabaseURL)
	}
}
