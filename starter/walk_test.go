package main

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/server/servertest"
)

// TestWalkWithFlags opens a deal from a JSON file and walks it from
// discovery to closed_won with nothing but starter's signal commands and
// their flags, checking the deal's answers and record on the way.
func TestWalkWithFlags(t *testing.T) {
	id := newDealID("walk")
	openDeal(t, id, "Globex")
	d := []string{"--deal", id}
	arg := func(extra ...string) []string { return append(append([]string{}, d...), extra...) }
	approve := func(ticket, by, side string) []string {
		return arg("--ticket", ticket, "--by", by, "--side", side, "--decision", "approve",
			"--url", "https://docs.example.com/"+ticket, "--body", ticket+" deliverable")
	}

	mustAnswer(t, "accepted", runCommitment, arg("--id", "c1", "--kind", "discount", "--text", "10% off phase 2", "--value", "10%", "--by", "U_AE")...)
	mustAnswer(t, "accepted", runSignoff, approve("discovery", "U_PRESALES", "internal")...)
	// A double click: the same sign-off again changes nothing.
	mustAnswer(t, "duplicate (already recorded)", runSignoff, approve("discovery", "U_PRESALES", "internal")...)
	// Someone else's sign-off is refused with the deal's reason, exit 1.
	out, err := cmd(t, runSignoff, approve("scoping", "U_AE", "internal")...)
	if !errors.Is(err, errRefused) || !strings.HasPrefix(out, "refused: only the ticket owner U_PRESALES") {
		t.Fatalf("sign-off by the wrong person: printed %q, error %v", out, err)
	}
	mustAnswer(t, "accepted", runSignoff, approve("scoping", "U_PRESALES", "internal")...)
	mustAnswer(t, "accepted", runSignoff, arg("--ticket", "scoping", "--by", "U_PRESALES", "--side", "client", "--decision", "approve", "--body", "agreed by email", "--note", "client OK")...)
	mustAnswer(t, "accepted", runCommitment, arg("--id", "c2", "--kind", "date", "--text", "go-live before March", "--by", "U_AE")...)
	mustAnswer(t, "accepted", runSignoff, approve("proposal", "U_AE", "internal")...)
	mustAnswer(t, "accepted", runSignoff, approve("pricing", "U_PRICING", "internal")...)
	mustAnswer(t, "accepted", runClose, arg("--outcome", "won", "--by", "U_AE", "--reason", "SOW signed")...)
	// An incomplete checklist: saved, not signed off.
	mustAnswer(t, "accepted", runHandover, arg("--by", "U_PM", "--deliverables-reviewed", "--ack", "c1")...)
	mustAnswer(t, "accepted", runHandover, arg("--by", "U_PM", "--deliverables-reviewed", "--ack", "c1,c2",
		"--ambiguity", "data retention period", "--ambiguity", "SSO provider", "--resources-confirmed", "--signed-off")...)

	// The deal as PostgreSQL holds it once it caught up with the workflow.
	rec, _ := stored(t, id)
	if rec.Stage != deal.InProgress {
		t.Fatalf("stage after the handover = %s, want in_progress", rec.Stage)
	}
	if got := *rec.Handover.Checklist.ScopeAmbiguities; !reflect.DeepEqual(got, []string{"data retention period", "SSO provider"}) {
		t.Errorf("scope ambiguities %q", got)
	}
	if n := len(rec.Tickets[1].Signoffs); n != 3 {
		t.Errorf("scoping has %d sign-offs, want 3 (one refused, internal, client)", n)
	}

	today := time.Now().Format("2006-01-02")
	// Progress first: with a quarter done, the costs below forecast a
	// margin above target, so no margin alert interferes with the stages.
	mustAnswer(t, "accepted", runProgress, arg("--pct-complete", "25", "--by", "U_PM")...)
	mustAnswer(t, "accepted", runInvoice, arg("--invoice-id", "INV-1", "--category", "subcontractor", "--amount", "12000.50", "--currency", "EUR", "--date", today, "--supplier", "Initech")...)
	mustAnswer(t, "accepted", runInvoice, arg("--invoice-id", "INV-2", "--category", "license", "--amount", "1000", "--currency", "USD", "--fx-rate", "0.9123", "--date", today)...)
	mustAnswer(t, "accepted", runFee, arg("--fee-id", "F1", "--kind", "invoiced", "--amount", "40000", "--currency", "EUR", "--date", today)...)
	mustAnswer(t, "accepted", runFee, arg("--fee-id", "F2", "--kind", "collected", "--amount", "25000", "--currency", "EUR", "--date", today)...)
	mustAnswer(t, "accepted", runChangeOrder, arg("--id", "CO1", "--amount", "5000", "--planned-cost", "2500", "--status", "pending", "--by", "U_AE")...)
	mustAnswer(t, "accepted", runChangeOrder, arg("--id", "CO1", "--amount", "5000", "--planned-cost", "2500", "--status", "approved", "--by", "U_GM")...)
	mustAnswer(t, "accepted", runIncident, arg("--incident-id", "I1", "--severity", "critical", "--status", "open", "--title", "Data loss in staging")...)

	// The readable record shows where the deal stands and its margin.
	// It reads PostgreSQL: wait until that caught up with the workflow,
	// whose margin the summary must show.
	rec, st := stored(t, id)
	out, err = cmd(t, record, arg()...)
	if err != nil {
		t.Fatal(err)
	}
	m := st.Deal.Margin
	for _, want := range []string{
		"Deal " + id + ": Globex / Data platform",
		"Stage:     mitigation (over in_progress)",
		"discovery  closed",
		"c1  discount: 10% off phase 2 (10%)",
		"[x] commitments acknowledged: c1, c2",
		"[x] scope ambiguities: data retention period; SSO provider",
		"I1  critical open: Data loss in staging",
		"invoiced 40000.00, collected 25000.00, pending 15000.00 EUR",
		"Revenue:      105000.00 EUR",
		"Actual cost:  12912.80 EUR (subcontractor 12000.50, license 912.30)",
		"EAC:          " + m.EAC.StringFixed(2) + " EUR (25.00% complete)",
		"Forecast:     " + m.ForecastMarginPct.StringFixed(2) + "% against target 30.00%",
		"Status:       " + m.Status,
		"CO1  approved: amount 5000.00",
		"signoff: only the ticket owner U_PRESALES can sign off scoping",
		"Alerts\n  none",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("record summary lacks %q\n%s", want, out)
		}
	}

	// --json prints the record itself.
	out, err = cmd(t, record, arg("--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON deal.Record
	if err := json.Unmarshal([]byte(out), &fromJSON); err != nil {
		t.Fatalf("record --json is not a deal record: %v\n%s", err, out)
	}
	if got, want := dealtest.Comparable(&fromJSON), dealtest.Comparable(rec); !reflect.DeepEqual(got, want) {
		t.Fatalf("record --json differs from the deal PostgreSQL holds\n%s", out)
	}
	if why := servertest.Disagreement(&fromJSON, &st.Deal); why != "" {
		t.Fatalf("record --json differs from the workflow's state: %s", why)
	}

	mustAnswer(t, "accepted", runIncident, arg("--incident-id", "I1", "--severity", "critical", "--status", "resolved")...)
	mustAnswer(t, "accepted", runStage, arg("--to", "maintenance", "--by", "U_PM")...)
	mustAnswer(t, "accepted", runStage, arg("--to", "closed_won", "--by", "U_GM")...)
	// The deal ended; its workflow stays for late costs (deal.LateCostWindow),
	// so the history is read where it lives, in PostgreSQL.
	final, st := stored(t, id)
	if st.Deal.Stage != deal.ClosedWon || st.Deal.EndedAt == nil {
		t.Fatalf("workflow at %s (ended %v), want closed_won", st.Deal.Stage, st.Deal.EndedAt)
	}
	var stages []deal.Stage
	for _, c := range final.History {
		stages = append(stages, c.To)
	}
	want := []deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Mitigation, deal.InProgress, deal.Maintenance, deal.ClosedWon}
	if !reflect.DeepEqual(stages, want) {
		t.Fatalf("stage history %v, want %v", stages, want)
	}
}

// TestSignalsFromFiles sends payloads written as JSON files, the way a
// script would, and checks that a file is refused for what is wrong in it.
func TestSignalsFromFiles(t *testing.T) {
	id := newDealID("files")
	openDeal(t, id, "Initech")
	commitment := writeFile(t, "c1.json", `{"id":"c1","kind":"integration","text":"SAP EWM included","by":"U_PRESALES"}`)
	mustAnswer(t, "accepted", runCommitment, "--deal", id, "--file", commitment)
	mustAnswer(t, "duplicate (already recorded)", runCommitment, "--deal", id, "--file", commitment)
	signoff := writeFile(t, "s.json", `{"ticket":"discovery","by":"U_PRESALES","side":"internal","decision":"approve",
		"deliverable":{"url":"https://docs.example.com/d"}}`)
	mustAnswer(t, "accepted", runSignoff, "--deal", id, "--file", signoff)

	for _, tc := range []struct {
		name, payload, want string
	}{
		{"missing field", `{"ticket":"scoping","side":"internal","decision":"changes_requested","note":"more detail"}`, `missing field "by"`},
		{"unknown field", `{"ticket":"scoping","by":"U_PRESALES","side":"internal","decision":"approve","deliverables":{}}`, `unknown field "deliverables"`},
		{"unknown ticket", `{"ticket":"closing","by":"U_PRESALES","side":"internal","decision":"changes_requested","note":"x"}`, `unknown ticket "closing"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := cmd(t, runSignoff, "--deal", id, "--file", writeFile(t, "p.json", tc.payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
				t.Fatalf("printed %q, error %v; want an error saying %s", out, err, tc.want)
			}
		})
	}
	// Nothing refused locally reached the deal.
	rec, st := stored(t, id)
	if st.Deal.Refusals != 0 || st.Deal.Stage != deal.Scoping || len(rec.Refusals) != 0 || rec.Stage != deal.Scoping {
		t.Fatalf("workflow at %s with %d refusals, PostgreSQL at %s with %v; want scoping and none", st.Deal.Stage, st.Deal.Refusals, rec.Stage, rec.Refusals)
	}
}
