package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"dealflow/clientlink"
)

// TestClientLink issues a link from the command line, checks it opens,
// revokes it, and is refused for a ticket that takes no client sign-off.
func TestClientLink(t *testing.T) {
	const secret = "starter-client-link-secret-0123456789abcdef"
	t.Setenv("CLIENT_LINK_SECRET", secret)
	t.Setenv("DEALFLOW_BASE_URL", "https://dealflow.example.com/")
	id := newDealID("link")
	openDeal(t, id, "Globex")
	d := []string{"--deal", id}
	arg := func(extra ...string) []string { return append(append([]string{}, d...), extra...) }
	approve := func(ticket string) []string {
		return arg("--ticket", ticket, "--by", "U_PRESALES", "--side", "internal", "--decision", "approve", "--body", ticket+" deliverable")
	}
	mustAnswer(t, "accepted", runSignoff, approve("discovery")...)
	stored(t, id)
	// Before the internal approval there is nothing for the client to sign.
	if out, err := cmd(t, runClientLink, arg("--ticket", "scoping")...); err == nil || !strings.Contains(err.Error(), "internal approval first") {
		t.Fatalf("a link before the internal approval: printed %q, error %v", out, err)
	}
	mustAnswer(t, "accepted", runSignoff, approve("scoping")...)
	stored(t, id)

	out, err := cmd(t, runClientLink, arg("--ticket", "scoping", "--by", "U_PRESALES")...)
	if err != nil {
		t.Fatal(err)
	}
	u := regexp.MustCompile(`^https://dealflow\.example\.com/client/([A-Za-z0-9_-]{64})\n`).FindStringSubmatch(out)
	if u == nil {
		t.Fatalf("client-link printed %q, want the link under DEALFLOW_BASE_URL first", out)
	}
	links := &clientlink.Links{Secret: []byte(secret), Store: worker.Store}
	o, err := links.Open(context.Background(), u[1])
	if err != nil || o.Link.TicketID != "scoping" || o.Link.CreatedBy != "U_PRESALES" || o.Deliverable.Body != "scoping deliverable" {
		t.Fatalf("the printed link opens as %+v, %v", o, err)
	}

	out, err = cmd(t, runClientLink, arg("--ticket", "scoping", "--revoke")...)
	if err != nil || !strings.Contains(out, "revoked 1 live link(s)") {
		t.Fatalf("--revoke printed %q, error %v", out, err)
	}
	if _, err := links.Open(context.Background(), u[1]); err != clientlink.ErrRevoked {
		t.Errorf("the revoked link opens: %v", err)
	}
	if _, err := cmd(t, runClientLink, arg("--ticket", "discovery")...); !errors.Is(err, clientlink.ErrNotNeeded) {
		t.Errorf("a link for discovery: error %v", err)
	}
	t.Setenv("CLIENT_LINK_SECRET", "")
	if _, err := cmd(t, runClientLink, arg("--ticket", "scoping")...); err == nil || !strings.Contains(err.Error(), "CLIENT_LINK_SECRET") {
		t.Errorf("without the secret: error %v", err)
	}
}
