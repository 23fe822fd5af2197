package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"dealflow/deal"
	"dealflow/workflows"
)

// RunDemo opens one deal and walks it from discovery into delivery, a step
// every couple of seconds, so a newcomer sees the protocol happen in the
// Temporal UI and in the worker's log. The deal stays open afterwards, with
// its margin checked every minute.
func RunDemo(ctx context.Context, c client.Client, out io.Writer) error {
	id := fmt.Sprintf("demo-%d", time.Now().Unix())
	today := time.Now().UTC()
	in := workflows.Input{Terms: deal.Terms{
		DealID: id, Client: "Acme Logistics", Workstream: "Warehouse portal", Currency: "EUR",
		ContractValue: decimal.RequireFromString("120000"), TargetMarginPct: decimal.RequireFromString("35"),
		StartDate:     deal.NewDate(today.Year(), today.Month(), today.Day()),
		EndDate:       deal.NewDate(today.Year(), today.Month(), today.Day()+90),
		People:        deal.People{AE: "U_AE_ANA", Presales: "U_PS_PAUL", PricingApprover: "U_PRICE_PRIYA", PM: "U_PM_MARIA", GM: "U_GM_GUS"},
		ClientSignoff: []string{"scoping"}, SlackChannel: "C_DEMO", MarginCheckEvery: "1m",
	}}
	if _, err := workflows.OpenDeal(ctx, c, workflows.TaskQueue, in); err != nil {
		return fmt.Errorf("opening demo deal: %w", err)
	}
	ui := os.Getenv("TEMPORAL_UI_PORT")
	if ui == "" {
		ui = "8233"
	}
	fmt.Fprintf(out, "demo: opened deal %s (workflow %s); watch it at http://127.0.0.1:%s\n", id, workflows.WorkflowID(id), ui)
	deliverable := func(kind, body string) map[string]string {
		return map[string]string{"kind": kind, "body": body, "url": "https://docs.example.com/" + id + "/" + kind}
	}
	steps := []struct {
		signal string
		body   any
		what   string
	}{
		{deal.SigCommitment, map[string]string{"id": "c1", "kind": "discount", "text": "10% off phase 2 if signed this quarter", "value": "10%", "by": "U_AE_ANA"}, "AE records a verbal discount"},
		{deal.SigSignoff, map[string]any{"ticket": "discovery", "by": "U_PS_PAUL", "side": "internal", "decision": "approve", "deliverable": deliverable("discovery_notes", "Pain: manual picking lists")}, "presales signs off discovery"},
		{deal.SigSignoff, map[string]any{"ticket": "scoping", "by": "U_AE_ANA", "side": "internal", "decision": "approve", "deliverable": deliverable("scoping_decision_log", "x")}, "the AE tries to sign off scoping (refused: not the owner)"},
		{deal.SigCommitment, map[string]string{"id": "c2", "kind": "integration", "text": "SAP EWM integration included", "by": "U_PS_PAUL"}, "presales promises an integration"},
		{deal.SigSignoff, map[string]any{"ticket": "scoping", "by": "U_PS_PAUL", "side": "internal", "decision": "approve", "deliverable": deliverable("scoping_decision_log", "In: portal, SAP EWM. Out: mobile app")}, "presales signs off scoping internally"},
		{deal.SigSignoff, map[string]any{"ticket": "scoping", "by": "U_PS_PAUL", "side": "client", "decision": "approve", "deliverable": deliverable("scoping_decision_log", "Client agreed by email")}, "the client signs off scoping"},
		{deal.SigSignoff, map[string]any{"ticket": "proposal", "by": "U_AE_ANA", "side": "internal", "decision": "approve", "deliverable": deliverable("proposal_assumptions", "Client provides test data")}, "the AE signs off the proposal"},
		{deal.SigSignoff, map[string]any{"ticket": "pricing", "by": "U_PRICE_PRIYA", "side": "internal", "decision": "approve", "deliverable": deliverable("pricing_rationale", "Blended rate 950/day")}, "pricing is approved"},
		{deal.SigClose, map[string]string{"outcome": "won", "by": "U_AE_ANA", "reason": "signed SOW"}, "the AE closes the deal won: the handover ticket opens"},
		{deal.SigHandover, map[string]any{"by": "U_PM_MARIA", "signed_off": true, "checklist": map[string]any{"deliverables_reviewed": true, "commitments_acknowledged": []string{"c1"}, "scope_ambiguities": []string{}, "resources_confirmed": true}}, "the PM signs off an incomplete checklist (refused: c2 not acknowledged)"},
		{deal.SigHandover, map[string]any{"by": "U_PM_MARIA", "signed_off": true, "checklist": map[string]any{"deliverables_reviewed": true, "commitments_acknowledged": []string{"c1", "c2"}, "scope_ambiguities": []string{"SAP EWM version not confirmed"}, "resources_confirmed": true}}, "the PM signs off the handover: delivery starts"},
		{deal.SigInvoice, map[string]any{"invoice_id": "INV-1", "category": "subcontractor", "amount": "8000", "currency": "EUR", "date": today.Format("2006-01-02"), "supplier": "DevShop"}, "finance books a subcontractor invoice: with no progress reported yet, the forecast slips to at risk"},
		{deal.SigProgress, map[string]any{"pct_complete": "10", "by": "U_PM_MARIA"}, "the PM reports 10% complete: back on track"},
		{deal.SigInvoice, map[string]any{"invoice_id": "INV-2", "category": "license", "amount": "6500", "currency": "USD", "fx_rate": "0.92", "date": today.Format("2006-01-02"), "supplier": "Cloudly"}, "a license invoice in USD lands: off track, the deal goes into mitigation"},
		{deal.SigIncident, map[string]any{"incident_id": "INC-1", "severity": "minor", "status": "open", "title": "Staging login slow"}, "a minor incident is opened"},
		{deal.SigProgress, map[string]any{"pct_complete": "25", "by": "U_PM_MARIA"}, "the PM reports 25% complete: recovered, back in progress"},
	}
	for _, s := range steps {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
		payload, _ := json.Marshal(s.body)
		res, err := workflows.Send(ctx, c, id, s.signal, payload)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "demo: %s → %s %s\n", s.what, res.Status, res.Reason)
	}
	rec, err := workflows.Record(ctx, c, id)
	if err != nil {
		return err
	}
	st := rec.Deal
	fmt.Fprintf(out, "demo: deal %s is %s; forecast margin %s%% against target %s%% (%s)\n", id, st.Stage,
		st.Margin.ForecastMarginPct.StringFixed(2), st.Margin.TargetMarginPct.StringFixed(2), st.Alerted)
	return nil
}
