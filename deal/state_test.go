package deal_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// TestStateWorstCaseSize fills a deal to every bound the rules keep
// (commitments, incidents, change orders, sign-off ids, text at its
// limits) and checks that the state the workflow holds, and so the
// continue-as-new carry and the query answer, stays under 192 KiB: with
// the carry's bounded queues (rows not yet written, notices not yet sent,
// 32 KiB each) it stays under the 256 KiB the issue sets.
func TestStateWorstCaseSize(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	terms := dealtest.Terms("d1", now)
	terms.DealID = strings.Repeat("d", 128)
	terms.Client, terms.Workstream = strings.Repeat("c", 200), strings.Repeat("w", 200)
	p := func(c string) string { return "U" + strings.Repeat(c, 63) }
	terms.People = deal.People{AE: p("a"), Presales: p("s"), PricingApprover: p("r"), PM: p("p"), GM: p("g")}
	terms.SlackChannel = strings.Repeat("C", 128)
	terms.ClientSignoff = []string{"discovery", "scoping", "proposal", "pricing"}
	terms.TimeZone = "America/Argentina/ComodRivadavia"
	for i := range deal.MaxHolidays {
		terms.Holidays = append(terms.Holidays, deal.Date{Time: deal.NewDate(2026, 1, 1).AddDate(0, 0, i)})
	}
	d, err := dealtest.Open(terms, now)
	if err != nil {
		t.Fatal(err)
	}
	at := func() time.Time { now = now.Add(time.Minute); return now }
	must := func(signal string, v any) {
		t.Helper()
		if res := d.Send(at(), signal, dealtest.JSON(v)); res.Status != deal.Accepted {
			t.Fatalf("%s: %+v", signal, res)
		}
	}
	id := func(prefix string, i int) string { return fmt.Sprintf("%s%0*d", prefix, 128-len(prefix), i) }
	var acks []string
	for i := 0; i < deal.MaxCommitments; i++ {
		acks = append(acks, id("c", i))
		must(deal.SigCommitment, map[string]string{"id": id("c", i), "kind": "discount", "text": strings.Repeat("t", 4000),
			"value": strings.Repeat("v", 4000), "by": terms.People.AE})
	}
	for _, tk := range []string{"discovery", "scoping", "proposal", "pricing"} {
		owner := map[string]string{"discovery": terms.People.Presales, "scoping": terms.People.Presales, "proposal": terms.People.AE, "pricing": terms.People.PricingApprover}[tk]
		kind := map[string]string{"discovery": "discovery_notes", "scoping": "scoping_decision_log", "proposal": "proposal_assumptions", "pricing": "pricing_rationale"}[tk]
		for i := 0; i < 30; i++ {
			must(deal.SigSignoff, map[string]any{"id": id("s"+tk, 2*i), "ticket": tk, "by": owner, "side": "internal", "decision": "approve",
				"deliverable": map[string]string{"kind": kind, "body": strings.Repeat("b", 20000), "url": "https://x/" + strings.Repeat("u", 1980)}})
			if i < 29 {
				must(deal.SigSignoff, map[string]any{"id": id("s"+tk, 2*i+1), "ticket": tk, "by": owner, "side": "internal",
					"decision": "changes_requested", "note": strings.Repeat("n", 3990) + fmt.Sprint(i)})
			}
		}
		must(deal.SigSignoff, map[string]any{"id": id("k"+tk, 0), "ticket": tk, "by": owner, "side": "client", "decision": "approve",
			"deliverable": map[string]string{"kind": kind, "body": "agreed"}})
	}
	must(deal.SigClose, map[string]string{"outcome": "won", "by": terms.People.AE, "reason": strings.Repeat("r", 4000)})
	amb := make([]string, deal.MaxAmbiguities)
	for i := range amb {
		amb[i] = strings.Repeat("a", 4000)
	}
	must(deal.SigHandover, map[string]any{"by": terms.People.PM, "signed_off": true, "checklist": map[string]any{
		"deliverables_reviewed": true, "commitments_acknowledged": acks, "scope_ambiguities": amb, "resources_confirmed": true}})
	for i := 0; i < deal.MaxIncidents; i++ {
		must(deal.SigIncident, map[string]string{"incident_id": id("i", i), "severity": "minor", "status": "open", "title": strings.Repeat("t", deal.FieldOf("incident.title").Max)})
	}
	for i := 0; i < deal.MaxChangeOrders; i++ {
		must(deal.SigChangeOrder, map[string]string{"id": id("o", i), "amount": "123456789012.12", "planned_cost": "123456789012.12",
			"status": "pending", "by": terms.People.GM})
	}
	must(deal.SigProgress, map[string]string{"pct_complete": "12.34", "by": terms.People.PM})
	for i := 0; i < deal.MaxQuestions; i++ {
		must(deal.SigQuestion, map[string]string{"id": id("q", i), "by": terms.People.PM, "text": strings.Repeat("q", deal.MaxQuestionLen)})
		must(deal.SigAnswer, map[string]string{"question_id": id("q", i), "by": terms.People.AE, "text": strings.Repeat("a", deal.MaxAnswerLen)})
	}
	for i := 0; i < 1000; i++ {
		d.Send(at(), deal.SigSignoff, dealtest.JSON(map[string]any{"ticket": "discovery", "by": "U_X", "side": "internal", "decision": "approve"}))
	}
	b, _ := json.Marshal(d.State)
	t.Logf("worst-case state: %d bytes", len(b))
	if len(b) > 192<<10 {
		t.Fatalf("the state at every bound is %d bytes, above 192 KiB", len(b))
	}
	if !d.State.Margin.PendingChangeOrders.Equal(decimal.RequireFromString("123456789012.12").Mul(decimal.NewFromInt(deal.MaxChangeOrders))) {
		t.Fatalf("pending change orders %s", d.State.Margin.PendingChangeOrders)
	}
}
