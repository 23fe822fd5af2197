package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.temporal.io/api/serviceerror"

	"dealflow/deal"
	"dealflow/workflows"
)

// runOpen starts a deal's workflow from its terms, written as JSON.
func runOpen(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	fs := newFlagSet("open", "FILE.json   (the deal's terms; - reads stdin)")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give one terms file: starter open FILE.json"}
	}
	path := fs.Arg(0)
	b, err := readInput(path)
	if err != nil {
		return err
	}
	if err := deal.CheckInput("terms", b); err != nil {
		return usageError{fmt.Sprintf("%s: deal terms: %v", path, err)}
	}
	var terms deal.Terms
	if err := decodeStrict(b, &terms); err != nil {
		return usageError{fmt.Sprintf("%s is not deal terms: %v", path, err)}
	}
	// Checked here as well as by OpenDeal, so bad terms are reported
	// without Temporal running.
	if err := terms.Normalize(); err != nil {
		return usageError{fmt.Sprintf("%s: %v", path, err)}
	}
	c, err := t.client(ctx)
	if err != nil {
		return err
	}
	run, err := workflows.OpenDealNamed(ctx, c, t.taskQueue, workflows.Input{Terms: terms}, cachedNames(ctx, terms.People))
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return fmt.Errorf("deal %s already exists (workflow %s); a deal id is used once, pick another deal_id", terms.DealID, workflows.WorkflowID(terms.DealID))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "opened deal %s: workflow %s\n", terms.DealID, run.GetID())
	return nil
}

// cachedNames reads the people's names the worker has cached, for the
// Temporal UI's summary. Opening a deal never waits on them: without the
// database (briefly) or a cached name, the UI shows the ids.
func cachedNames(ctx context.Context, p deal.People) deal.Names {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	store, closeStore, err := openStore(ctx, "open")
	if err != nil {
		return nil
	}
	defer closeStore()
	names, err := store.Names(ctx, []string{p.AE, p.Presales, p.PricingApprover, p.PM, p.GM})
	if err != nil {
		return nil
	}
	return names
}
