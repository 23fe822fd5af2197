package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// TestActionsInAPersonsName: a person signed in by the SSO proxy issues
// and revokes a client link on the deal page; the record and the page name
// them, and what a script does with the token is recorded as the token.
func TestActionsInAPersonsName(t *testing.T) {
	s, _ := linkServer(t, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.IdentityHeader = "X-Auth-Request-Email"
	})
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
}
