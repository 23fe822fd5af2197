package main

import (
	"context"
	"strings"
	"testing"

	"dealflow/deal"
	"dealflow/workflows"
)

// TestOpen opens a deal from a terms file; the workflow holds those terms
// and a deal id is used once.
func TestOpen(t *testing.T) {
	id := newDealID("open")
	path := writeFile(t, "terms.json", termsJSON(id, "Acme"))
	out, err := cmd(t, runOpen, path)
	if err != nil || strings.TrimSpace(out) != "opened deal "+id+": workflow deal-"+id {
		t.Fatalf("open: printed %q, error %v", out, err)
	}
	st, err := workflows.Record(context.Background(), worker.Client, id)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Deal; s.Stage != deal.Discovery || s.Terms.Client != "Acme" || s.Terms.ContractValue.String() != "100000" || len(s.Tickets) != 1 {
		t.Fatalf("opened deal: stage %s, client %s, contract %s, %d tickets", s.Stage, s.Terms.Client, s.Terms.ContractValue, len(s.Tickets))
	}
	// PostgreSQL holds the opened deal too: its row and its first ticket.
	rec, _ := stored(t, id)
	if rec.Stage != deal.Discovery || rec.Terms.Client != "Acme" || rec.Terms.ContractValue.String() != "100000" || len(rec.Tickets) != 1 {
		t.Fatalf("opened record: stage %s, client %s, contract %s, %d tickets", rec.Stage, rec.Terms.Client, rec.Terms.ContractValue, len(rec.Tickets))
	}

	if _, err := cmd(t, runOpen, path); err == nil || !strings.Contains(err.Error(), "deal "+id+" already exists") {
		t.Errorf("opening it again: %v, want already exists", err)
	}

	for _, tc := range []struct{ name, terms, want string }{
		{"missing fields", `{"deal_id":"x","client":"C","currency":"EUR","contract_value":"100","target_margin_pct":"30"}`, "workstream is required"},
		{"typo in a field", strings.Replace(termsJSON("y", "C"), `"workstream"`, `"work_stream"`, 1), `unknown field "work_stream"`},
		{"malformed decimal", strings.Replace(termsJSON("z", "C"), `"100000"`, `"100,000"`, 1), "contract_value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cmd(t, runOpen, writeFile(t, "bad.json", tc.terms))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %s", err, tc.want)
			}
		})
	}
}
