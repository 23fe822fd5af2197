package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/devstack"
	"dealflow/report/reporttest"
	"dealflow/workflows"
)

// TestSearchAttributesFindDeals puts deals in different states and finds
// each through the search attributes with the pinned temporal CLI, the way
// ops would from a terminal or the Temporal UI's search box.
func TestSearchAttributesFindDeals(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	bin, err := devstack.TemporalCLI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every test of the package shares the dev server: a client name of
	// this test's own keeps its queries to its deals.
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	sfx := hex.EncodeToString(b)
	client, aeA, aeB, pmX := "Search-"+sfx, "U_AE_A_"+sfx, "U_AE_B_"+sfx, "U_PM_X_"+sfx
	today := time.Now().UTC().Format("2006-01-02")
	ids := map[string]string{}
	open := func(name, ae, pm string, steps ...dealtest.Step) {
		t.Helper()
		id := name + "-" + sfx
		ids[name] = id
		terms := dealtest.Terms(id, time.Now())
		terms.Client, terms.People.AE, terms.People.PM = client, ae, pm
		openDeal(t, s, terms)
		send(t, s, id, reporttest.AsPeople(steps, ae, pm)...)
	}
	open("discovery", aeA, dealtest.PM)
	open("handover", aeA, dealtest.PM, append(dealtest.ToClosing(), dealtest.Won())...)
	open("delivery", aeA, pmX, dealtest.ToDelivery()...)
	open("incident", aeA, dealtest.PM, append(dealtest.ToDelivery(),
		dealtest.Step{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "critical", "status": "open", "title": "Outage"})})...)
	// 20,000 spent at 10% complete forecasts -100%: off track.
	open("overrun", aeB, dealtest.PM, append(dealtest.ToDelivery(), dealtest.Progress("10"), dealtest.Invoice("INV-1", "subcontractor", "20000", today))...)
	open("lost", aeB, dealtest.PM, dealtest.Step{Signal: deal.SigClose, Payload: dealtest.JSON(map[string]string{"outcome": "lost", "by": dealtest.AE, "reason": "budget cut"})})

	inClient := ` AND DealClient="` + client + `"`
	for _, c := range []struct {
		query string
		want  []string
	}{
		{`DealClient="` + client + `"`, []string{"discovery", "handover", "delivery", "incident", "overrun", "lost"}},
		{`DealStage="mitigation" AND DealAE="` + aeA + `"`, []string{"incident"}},
		{`DealStage="mitigation"` + inClient, []string{"incident", "overrun"}},
		{`DealStage="discovery"` + inClient, []string{"discovery"}},
		{`DealStage="handover"` + inClient, []string{"handover"}},
		{`DealStage="in_progress"` + inClient, []string{"delivery"}},
		{`DealStage="closed_lost"` + inClient, []string{"lost"}},
		{`DealPM="` + pmX + `"`, []string{"delivery"}},
		{`DealAE="` + aeB + `"`, []string{"overrun", "lost"}},
		{`MarginStatus="off_track"` + inClient, []string{"overrun"}},
		{`OpenIncidents > 0` + inClient, []string{"incident"}},
		{`ForecastMarginPct < 0` + inClient, []string{"overrun"}},
	} {
		var want []string
		for _, name := range c.want {
			want = append(want, workflows.WorkflowID(ids[name]))
		}
		slices.Sort(want)
		// Visibility is eventually consistent: poll until the list is
		// right, with a deadline that only stops a test gone wrong.
		var got []string
		deadline := time.Now().Add(time.Minute)
		for {
			got = listWorkflows(t, bin, c.query)
			if reflect.DeepEqual(got, want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("temporal workflow list --query '%s'\n got %v\nwant %v", c.query, got, want)
		}
	}

	// The workflow page reads like the deal record: a static summary and
	// details, and current details with the stage and margin.
	wid := workflows.WorkflowID(ids["overrun"])
	desc := temporalCLI(t, bin, "workflow", "describe", "--workflow-id", wid, "-o", "json")
	for _, want := range []string{client + " / Data platform " + ids["overrun"] + " (AE " + aeB + ", PM " + dealtest.PM + ")", "Workstream: Data platform " + ids["overrun"], "target margin 30%"} {
		if !strings.Contains(desc, want) {
			t.Errorf("workflow describe lacks %q:\n%s", want, desc)
		}
	}
	rec, err := workflows.Record(ctx, s.Client, ids["overrun"])
	if err != nil {
		t.Fatal(err)
	}
	meta := temporalCLI(t, bin, "workflow", "metadata", "--workflow-id", wid, "-o", "json")
	for _, want := range []string{"**Stage:** mitigation", "**Forecast margin:** " + rec.Deal.Margin.ForecastMarginPct.StringFixed(2) + "% against target 30.00% (off_track)", "**Open incidents:** 0"} {
		if !strings.Contains(meta, want) {
			t.Errorf("workflow metadata lacks %q:\n%s", want, meta)
		}
	}
}

// temporalCLI runs the pinned temporal CLI against the test dev server and
// returns its output with JSON payloads decoded, so text can be looked for.
func temporalCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--address", temporalHostPort, "--namespace", "default", "--color", "never")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("temporal %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// listWorkflows is `temporal workflow list --query q -o json`: the sorted
// workflow ids it finds.
func listWorkflows(t *testing.T, bin, query string) []string {
	t.Helper()
	out := temporalCLI(t, bin, "workflow", "list", "--query", query, "-o", "json")
	var rows []struct {
		Execution struct {
			WorkflowID string `json:"workflowId"`
		} `json:"execution"`
	}
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("temporal workflow list -o json: %v\n%s", err, out)
		}
	}
	ids := []string{}
	for _, r := range rows {
		ids = append(ids, r.Execution.WorkflowID)
	}
	slices.Sort(ids)
	return ids
}
