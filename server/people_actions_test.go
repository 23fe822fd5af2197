package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"dealflow/deal/dealtest"
)

// TestActionsInAPersonsName: a person signed in by the SSO proxy issues
// and revokes a client link on the deal page; the record and the page name
// them, and what a script does with the token is recorded as the token.
func TestActionsInAPersonsName(t *testing.T) {
	s, fake := linkServer(t, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.IdentityHeader = "X-Auth-Request-Email"
	})
	// Who they are in Slack: the scoping ticket's owner, the deal's PM, and
	// an AE of another deal.
	for id, email := range map[string]string{dealtest.Presales: "ana@firm.example", dealtest.PM: "bo@firm.example", "U_OTHER": "eve@firm.example"} {
		fake.SetUser(id, email, email)
		fake.SetEmail(id, email)
	}
	id := "people-1"
	atClientSignoff(t, s, id)
	base := "http://" + s.Addr
	as := func(method, path, person string) (int, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		req.Header.Set("Origin", base)
		if person != "" {
			req.Header.Set("X-Auth-Request-Email", person)
		} else {
			req.Header.Set("Authorization", "Bearer "+testDashboardToken)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		resp, body := readAll(t, resp, err)
		return resp.StatusCode, body
	}
	// The default header is not the one this proxy sets: not believed.
	req, _ := http.NewRequest(http.MethodGet, base+"/deals", nil)
	req.Header.Set("X-Forwarded-Email", "mallory@firm.example")
	resp, err := http.DefaultClient.Do(req)
	if resp, _ := readAll(t, resp, err); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a header the proxy does not set let a person in: %d", resp.StatusCode)
	}
	// Issuing is the ticket owner's; nobody else's, nor an unknown email's.
	for _, who := range []string{"bo@firm.example", "eve@firm.example", "stranger@firm.example"} {
		if code, _ := as("POST", "/deals/"+id+"/tickets/scoping/client-links", who); code != http.StatusForbidden {
			t.Errorf("%s issued a link of the scoping ticket: %d, want 403", who, code)
		}
	}
	if code, body := as("POST", "/deals/"+id+"/tickets/scoping/client-links", "ana@firm.example"); code != http.StatusOK {
		t.Fatalf("issuing as a person: %d\n%s", code, body)
	}
	if code, _ := as("POST", "/deals/"+id+"/tickets/scoping/client-links", ""); code != http.StatusOK {
		t.Fatalf("issuing with the token: %d", code)
	}
	var first string
	if err := s.Pool.QueryRow(context.Background(), "SELECT link_id FROM client_links WHERE deal_id = $1 AND created_by = 'ana@firm.example'", id).Scan(&first); err != nil {
		t.Fatalf("no link recorded as issued by ana: %v", err)
	}
	if code, _ := as("POST", "/deals/"+id+"/client-links/"+first+"/revoke", "eve@firm.example"); code != http.StatusForbidden {
		t.Errorf("someone of another deal revoked a link: %d, want 403", code)
	}
	// Revoking is also the PM's.
	if code, _ := as("POST", "/deals/"+id+"/client-links/"+first+"/revoke", "bo@firm.example"); code != http.StatusSeeOther {
		t.Fatalf("revoking as a person: %d", code)
	}
	var revokedBy string
	if err := s.Pool.QueryRow(context.Background(), "SELECT revoked_by FROM client_links WHERE link_id = $1", first).Scan(&revokedBy); err != nil || revokedBy != "bo@firm.example" {
		t.Errorf("revoked_by %q %v, want bo@firm.example", revokedBy, err)
	}
	_, page := as("GET", "/deals/"+id, "ana@firm.example")
	for _, want := range []string{"by ana@firm.example", "revoked by bo@firm.example", "by dashboard token"} {
		if !strings.Contains(page, want) {
			t.Errorf("the deal page does not say %q", want)
		}
	}
	// Each person was looked up once: the answers are cached.
	seen := map[string]int{}
	for _, c := range fake.Calls("users.lookupByEmail") {
		seen[c.Email]++
	}
	for email, n := range seen {
		if n != 1 {
			t.Errorf("%s was looked up %d times, want once", email, n)
		}
	}
}
