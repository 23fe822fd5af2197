package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

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
		{"typo in a field", strings.Replace(termsJSON("y", "C"), `"workstream"`, `"work_stream"`, 1), `has no field "work_stream"`},
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

// TestOpenShowsCachedNames: the Temporal UI's summary and details name the
// people whose names the worker had cached when the deal opened, beside
// their ids; the others stay ids.
func TestOpenShowsCachedNames(t *testing.T) {
	ctx := context.Background()
	if err := worker.Store.SavePerson(ctx, "U_AE_NAMED", "ana", "Ana Alvarez", time.Now()); err != nil {
		t.Fatal(err)
	}
	id := newDealID("named")
	terms := strings.Replace(termsJSON(id, "Acme"), `"ae": "U_AE"`, `"ae": "U_AE_NAMED"`, 1)
	if _, err := cmd(t, runOpen, writeFile(t, "terms.json", terms)); err != nil {
		t.Fatal(err)
	}
	desc, err := worker.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	meta := desc.GetExecutionConfig().GetUserMetadata()
	var summary, details string
	dc := converter.GetDefaultDataConverter()
	if err := dc.FromPayload(meta.GetSummary(), &summary); err != nil {
		t.Fatal(err)
	}
	if err := dc.FromPayload(meta.GetDetails(), &details); err != nil {
		t.Fatal(err)
	}
	if want := "Acme / Data platform (AE Ana Alvarez (U_AE_NAMED), PM U_PM)"; summary != want {
		t.Errorf("summary %q, want %q", summary, want)
	}
	if !strings.Contains(details, "AE: Ana Alvarez (U_AE_NAMED)") || !strings.Contains(details, "PM: U_PM") {
		t.Errorf("details lack the AE's name or the PM's id:\n%s", details)
	}
}
