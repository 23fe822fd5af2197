package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"dealflow/db"
	"dealflow/workflows"
)

// TestBadInput runs whole command lines through run, as main does, with
// Temporal found through TEMPORAL_ADDRESS: each bad input gets one line on
// stderr saying what is wrong, and a non-zero exit.
func TestBadInput(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", temporalHostPort)
	id := newDealID("bad")
	openDeal(t, id, "Umbrella")

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown deal", []string{"signoff", "--deal", "nope-9", "--ticket", "discovery", "--by", "U_PRESALES", "--side", "internal", "--decision", "approve", "--url", "https://x"},
			1, "starter signoff: unknown deal nope-9: no workflow deal-nope-9"},
		// record reads PostgreSQL, so it is PostgreSQL that does not know it.
		{"unknown deal record", []string{"record", "--deal", "nope-9"}, 1, "starter record: unknown deal nope-9: the database has no such deal"},
		{"malformed decimal", []string{"invoice", "--deal", id, "--invoice-id", "I1", "--category", "travel", "--amount", "12.x", "--currency", "EUR", "--date", "2026-01-02"},
			2, `starter invoice: invalid value "12.x" for flag -amount: not a decimal number`},
		{"malformed date", []string{"fee", "--deal", id, "--fee-id", "F1", "--kind", "invoiced", "--amount", "10", "--currency", "EUR", "--date", "02/01/2026"},
			2, `starter fee: invalid value "02/01/2026" for flag -date: not a date of the form YYYY-MM-DD`},
		{"unknown ticket", []string{"signoff", "--deal", id, "--ticket", "discvery", "--by", "U_PRESALES", "--side", "internal", "--decision", "approve", "--url", "https://x"},
			2, `starter signoff: unknown ticket "discvery"; the presale tickets are discovery, scoping, proposal, pricing`},
		{"a client signer from the command line", []string{"signoff", "--deal", id, "--file", writeFile(t, "forged.json",
			`{"ticket":"scoping","by":"U_PRESALES","side":"client","decision":"approve","deliverable":{"body":"x"},"client":{"name":"Jane Doe","email":"jane@client.com","evidence":"e","link_id":"L1"}}`)},
			2, `starter signoff: "client" is set only by the page of a client link`},
		{"unknown stage", []string{"stage", "--deal", id, "--to", "maintenence", "--by", "U_PM"}, 2, `starter stage: unknown stage "maintenence"`},
		{"stage not movable by hand", []string{"stage", "--deal", id, "--to", "scoping", "--by", "U_PM"}, 2, "starter stage: a deal is moved by hand only to maintenance or closed_won, not scoping"},
		{"missing field", []string{"signoff", "--deal", id, "--ticket", "discovery", "--side", "internal", "--decision", "approve", "--url", "https://x"}, 2, "starter signoff: missing --by"},
		{"missing deal", []string{"progress", "--pct-complete", "20", "--by", "U_PM"}, 2, "starter progress: missing --deal"},
		{"missing amount", []string{"invoice", "--deal", id, "--invoice-id", "I1", "--category", "travel", "--currency", "EUR", "--date", "2026-01-02"}, 2, "starter invoice: missing --amount"},
		{"bad enum", []string{"signoff", "--deal", id, "--ticket", "discovery", "--by", "U_PRESALES", "--side", "internal", "--decision", "yes"}, 2, `starter signoff: --decision must be approve or changes_requested, not "yes"`},
		{"unknown flag", []string{"close", "--deal", id, "--outcom", "won"}, 2, "starter close: flag provided but not defined: -outcom"},
		{"unknown command", []string{"sign-off"}, 2, `starter: unknown command "sign-off"`},
		{"refused by the deal", []string{"close", "--deal", id, "--outcome", "won", "--by", "U_AE"}, 1, ""},
		{"bad terms", []string{"open", writeFile(t, "bad.json", `{"deal_id":"x","client":"C","currency":"EUR","contract_value":"1.2.3"}`)}, 2, "starter open: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", code, tc.code, stdout.String(), stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") > 1 || !strings.HasPrefix(msg, tc.want) {
				t.Errorf("stderr %q, want one line starting %q", msg, tc.want)
			}
		})
	}

	// The refused close printed the deal's reason as its answer.
	var stdout, stderr bytes.Buffer
	run(context.Background(), []string{"close", "--deal", id, "--outcome", "won", "--by", "U_AE"}, &stdout, &stderr)
	if got := stdout.String(); !strings.HasPrefix(got, "refused: the deal can be won only once pricing is signed off") || stderr.Len() != 0 {
		t.Errorf("refused close: stdout %q, stderr %q", got, stderr.String())
	}

	// The in-process form of unknown deal keeps a sentinel for callers:
	// record reads PostgreSQL now, whose sentinel is db.ErrNotFound.
	_, err := cmd(t, record, "--deal", "nope-9")
	if !errors.Is(err, db.ErrNotFound) && !errors.Is(err, workflows.ErrUnknownDeal) {
		t.Errorf("record of an unknown deal: %v, want db.ErrNotFound (or workflows.ErrUnknownDeal)", err)
	}

	// Nothing that failed locally reached the deal: only the two refused
	// closes are on it, in the workflow and in PostgreSQL.
	rec, st := stored(t, id)
	if st.Deal.Refusals != 2 || st.Deal.Ledger.Invoices != 0 || st.Deal.Ledger.Fees != 0 {
		t.Errorf("workflow: refusals %d, invoices %d, fees %d; want 2, 0, 0", st.Deal.Refusals, st.Deal.Ledger.Invoices, st.Deal.Ledger.Fees)
	}
	if len(rec.Refusals) != 2 || len(rec.Invoices) != 0 || len(rec.Fees) != 0 {
		t.Errorf("PostgreSQL: refusals %d, invoices %d, fees %d; want 2, 0, 0", len(rec.Refusals), len(rec.Invoices), len(rec.Fees))
	}
}

// TestTemporalUnreachable: a command that needs Temporal says in one line
// which address it tried and `make dev`; record, which reads PostgreSQL,
// still answers.
func TestTemporalUnreachable(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"progress", "--deal", "d1", "--pct-complete", "20", "--by", "U_PM"}, &stdout, &stderr)
	msg := stderr.String()
	if code != 1 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "cannot reach Temporal at 127.0.0.1:1") || !strings.Contains(msg, "make dev") {
		t.Fatalf("exit %d, stderr %q", code, msg)
	}
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"record", "--deal", "d1"}, &stdout, &stderr)
	if msg := stderr.String(); code != 1 || msg != "starter record: unknown deal d1: the database has no such deal\n" {
		t.Fatalf("record with Temporal down: exit %d, stderr %q; want PostgreSQL's answer", code, msg)
	}
}

// TestHelp lists every command with its description.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("help exit %d", code)
		}
		for _, c := range commands {
			if !strings.Contains(stdout.String(), "  "+c.name+" ") {
				t.Errorf("help lacks %s", c.name)
			}
		}
	}
}
