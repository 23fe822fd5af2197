// Command starter is the command-line client of dealflow, for people and
// scripts: open a deal, send it signals, read its record, list deals.
//
// Each command is a function of (ctx, target, args, stdout) so tests run it
// in-process; main only reads the environment, dispatches and turns the
// error into one line and an exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"dealflow/workflows"
)

// command is one subcommand of starter.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, t *target, args []string, stdout io.Writer) error
}

// commands lists every subcommand in the order `starter help` shows them.
var commands = []command{
	{"open", "open a deal from its terms (deal_id, client, people, dates, ...); prints its workflow id", runOpen},
	{"record", "print a deal from PostgreSQL: stage, tickets, handover, incidents, fees, margin, alerts, refusals", func(ctx context.Context, _ *target, args []string, stdout io.Writer) error {
		return runRecord(ctx, args, stdout)
	}},
	{"list", "list deals with their stage and margin status", runList},
	{"report", "the handover early-warning report and the five warning signs from PostgreSQL (text, --json or --csv)", func(ctx context.Context, _ *target, args []string, stdout io.Writer) error {
		return runReport(ctx, args, stdout)
	}},
	{"signoff", "sign a presale ticket off, or ask for changes", runSignoff},
	{"client-link", "a link for the client to sign a ticket off in person (or --revoke the ticket's links)", runClientLink},
	{"commitment", "record a presale commitment (discount, date, integration, ...)", runCommitment},
	{"close", "close the deal won or lost", runClose},
	{"handover", "the PM's handover checklist, and its sign-off with --signed-off", runHandover},
	{"stage", "move a deal in delivery to maintenance or closed_won", runStage},
	{"incident", "open or update an incident", runIncident},
	{"fee", "record a client fee invoiced or collected", runFee},
	{"invoice", "send cost invoices: one by flags, or a finance file answered row by row", runInvoice},
	{"invoice-job", "a large finance file's job (HTTP intake answered 202): progress, then every row's answer", func(ctx context.Context, _ *target, args []string, stdout io.Writer) error {
		return runJob(ctx, args, stdout)
	}},
	{"change_order", "record a change order (also: change-order)", runChangeOrder},
	{"progress", "report delivery progress in percent", runProgress},
	{"hubspot", "`hubspot setup`: make dealflow's HubSpot properties and check the pipeline's stages (docs/hubspot.md)", runHubSpot},
	{"question", "ask the AE a question about a won deal (the PM or the GM)", runQuestion},
	{"answer", "the AE's answer to a question", runAnswer},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches one command line and returns the exit code: 0 done; 2 the
// input is wrong and nothing was sent; 1 the deal refused it, does not
// exist, or could not be reached.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	name := args[0]
	if name == "change-order" {
		name = "change_order"
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == name {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "starter: unknown command %q; run `starter help` for the list\n", args[0])
		return 2
	}
	t := &target{taskQueue: workflows.TaskQueue, dial: dialTemporal}
	defer t.close()
	err := cmd.run(ctx, t, args[1:], stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errRefused):
		// The refusal is already printed as the command's answer.
		return 1
	}
	fmt.Fprintf(stderr, "starter %s: %s\n", name, oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprint(w, `starter is the command-line client of dealflow.

usage: starter COMMAND [flags]     (starter COMMAND -h lists a command's flags)

`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every signal command takes --deal ID and either its payload as flags, named
after the payload's JSON fields (invoice_id is --invoice-id), or the whole
payload with --file payload.json. It answers accepted, duplicate (already
recorded) or refused: REASON.

Exit codes: 0 done; 2 the input is wrong (nothing was sent); 1 the deal
refused it, does not exist, or Temporal could not be reached.

Temporal is found with the SDK's environment configuration: TEMPORAL_ADDRESS
(default localhost:7233), TEMPORAL_NAMESPACE (default "default"), or a
temporal.toml profile (TEMPORAL_PROFILE).
`)
}

// oneLine keeps an error to one line however deep it was wrapped.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
