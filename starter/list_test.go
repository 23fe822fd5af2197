package main

import (
	"dealflow/deal/dealtest"
	"strings"
	"testing"
)

// TestListByStage lists deals through visibility with filters. The client
// name has a quote in it, so the query's quoting is exercised too.
func TestListByStage(t *testing.T) {
	client := "O'Hara " + randomHex(3)
	moved, stayed := newDealID("list"), newDealID("list")
	openDeal(t, moved, client)
	openDeal(t, stayed, client)
	mustAnswer(t, "accepted", runSignoff, "--deal", moved, "--ticket", "discovery", "--by", "U_PRESALES", "--side", "internal",
		"--decision", "approve", "--url", "https://docs.example.com/d")

	// Visibility catches up with the workflows a moment later: poll.
	var out string
	dealtest.Eventually(t, "list --stage scoping to show only the moved deal", func() bool {
		var err error
		out, err = cmd(t, runList, "--client", client, "--stage", "scoping")
		return err == nil && strings.Contains(out, moved) && !strings.Contains(out, stayed)
	})
	if !strings.Contains(out, "scoping") || !strings.Contains(out, client+" / Data platform") || !strings.Contains(out, "on_track") {
		t.Errorf("list row lacks the stage, client / workstream or margin status:\n%s", out)
	}
	dealtest.Eventually(t, "list --client to show both deals", func() bool {
		out, err := cmd(t, runList, "--client", client, "--ae", "U_AE", "--pm", "U_PM")
		return err == nil && strings.Contains(out, moved) && strings.Contains(out, stayed)
	})
	out, err := cmd(t, runList, "--client", client, "--stage", "closed_won")
	if err != nil || strings.TrimSpace(out) != "no deals match" {
		t.Errorf("list of no deals: %q, %v", out, err)
	}
	if _, err := cmd(t, runList, "--stage", "won"); err == nil || !strings.Contains(err.Error(), `unknown stage "won"`) {
		t.Errorf("list --stage won: %v, want unknown stage", err)
	}
}
