// Command recordhistory records the replay corpus: it runs the real worker
// (server.Start against the pinned Temporal dev server and a PostgreSQL
// database of its own), plays every scenario in scenarios.go against it,
// and writes each workflow run's history as a JSON file that
// workflows/replay_test.go and intake/replay_test.go replay.
//
//	make corpus                                   # every scenario into workflows/testdata/corpus/v1.0
//	go run ./devstack/recordhistory -out DIR      # into another folder
//	go run ./devstack/recordhistory -only deal-margin-alerts -out DIR
//	go run ./devstack/recordhistory -list
//
// It never replaces a recorded history: when a file it would write exists
// it stops before starting anything, with one line and exit 1. The corpus
// is append-only once frozen (docs/upgrades.md); re-recording before the
// freeze means removing the folder first (make corpus-rerecord).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"dealflow/db/dbtest"
	"dealflow/devstack"
	"dealflow/server"
	"dealflow/workflows"
	"dealflow/workflows/corpus"
)

func main() {
	out := flag.String("out", filepath.Join(corpus.Dir, "v1.0"), "folder to write the histories to (created if missing)")
	only := flag.String("only", "", "comma-separated scenario names to record (default: all)")
	list := flag.Bool("list", false, "list the scenarios and exit")
	verbose := flag.Bool("v", false, "show the worker's log")
	flag.Parse()
	if *list {
		for _, sc := range scenarios {
			fmt.Printf("%-24s %s\n", sc.name, sc.about)
		}
		return
	}
	chosen, err := choose(*only)
	if err == nil {
		err = refuseExisting(*out, chosen)
	}
	if err == nil {
		err = record(context.Background(), *out, chosen, *verbose)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "recordhistory:", strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(1)
	}
}

func choose(only string) ([]scenario, error) {
	if only == "" {
		return scenarios, nil
	}
	var out []scenario
	for _, name := range strings.Split(only, ",") {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == name })
		if i < 0 {
			return nil, fmt.Errorf("no scenario %q (see -list)", name)
		}
		out = append(out, scenarios[i])
	}
	return out, nil
}

// refuseExisting stops before anything runs when a scenario's histories
// are already in the folder: a scenario writes <name>*.json.
func refuseExisting(dir string, chosen []scenario) error {
	for _, sc := range chosen {
		m, err := filepath.Glob(filepath.Join(dir, sc.name+"*.json"))
		if err != nil {
			return err
		}
		if len(m) > 0 {
			return fmt.Errorf("%s: %w", m[0], corpus.ErrExists)
		}
	}
	return nil
}

func record(ctx context.Context, out string, chosen []scenario, verbose bool) error {
	logw := io.Discard
	if verbose {
		logw = os.Stderr
	}
	tsrv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{})
	if err != nil {
		return err
	}
	defer tsrv.Stop()
	dbURL, drop, err := dbtest.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer drop()
	s, err := server.Start(ctx, server.Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", TaskQueue: workflows.TaskQueue,
		FinanceToken: financeToken, Temporal: client.Options{HostPort: tsrv.FrontendHostPort()},
		Log: slog.New(slog.NewTextHandler(logw, nil))})
	if err != nil {
		return err
	}
	defer s.Stop()
	r := &run{ctx: ctx, s: s}
	for _, sc := range chosen {
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		r.ctx = sctx
		ids, err := sc.play(r)
		n := 0
		if err == nil {
			n, err = r.save(out, sc.name, ids)
		}
		cancel()
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.name, err)
		}
		fmt.Printf("%-24s %d histories in %s\n", sc.name, n, time.Since(start).Round(time.Second))
	}
	return nil
}

// save writes every run of each named workflow, which has ended: a
// single run as <scenario>[-<part>].json, a chain of runs continued as new
// as ...run1.json, run2.json in the order they ran.
func (r *run) save(dir, name string, ids []recorded) (int, error) {
	n := 0
	for _, w := range ids {
		runs, err := r.chain(w.workflowID)
		if err != nil {
			return n, err
		}
		base := name
		if w.part != "" {
			base += "-" + w.part
		}
		for i, h := range runs {
			file := base + ".json"
			if len(runs) > 1 {
				file = fmt.Sprintf("%s.run%d.json", base, i+1)
			}
			if err := corpus.Write(filepath.Join(dir, file), h); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// chain reads the histories of a workflow's runs, first run first, by
// following each run back to the run it continued.
func (r *run) chain(workflowID string) ([]*historypb.History, error) {
	var runs []*historypb.History
	for runID := ""; ; {
		h, err := r.history(workflowID, runID)
		if err != nil {
			return nil, err
		}
		last := h.Events[len(h.Events)-1].EventType
		switch last {
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
			enums.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		default:
			return nil, fmt.Errorf("%s run %s has not ended (last event %s)", workflowID, runID, last)
		}
		runs = append([]*historypb.History{h}, runs...)
		runID = h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if runID == "" {
			return runs, nil
		}
	}
}

func (r *run) history(workflowID, runID string) (*historypb.History, error) {
	h := &historypb.History{}
	it := r.s.Client.GetWorkflowHistory(r.ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		return nil, errors.New("empty history for " + workflowID)
	}
	return h, nil
}
