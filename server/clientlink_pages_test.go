package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// TestDealPageIssuesClientLinks: who holds the dashboard token issues a
// link from the deal page and sees it listed with a Revoke button; without
// the token, or from another site, nothing is issued. The link lives as
// long as the deal's terms say.
func TestDealPageIssuesClientLinks(t *testing.T) {
	const token = "dash-token-0123456789abcdef01234567"
	s, _ := linkServer(t, func(c *Config) { c.DashboardToken = token })
	id := "cl-3"
	days := 3
	atClientSignoff(t, s, id, func(t *deal.Terms) { t.ClientLinkDays = &days })
	// A client signer sent straight to the deal, as whoever can reach
	// Temporal could: the deal page does not vouch for it.
	send(t, s, id, dealtest.ClientSigned("scoping", "client", "changes_requested", map[string]string{"link": "forged"}))
	send(t, s, id, dealtest.Approve("scoping", dealtest.Presales, "internal"))
	stored(t, s, id)
	issueURL := "http://" + s.Addr + "/deals/" + id + "/tickets/scoping/client-links"
	post := func(auth bool, site string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, issueURL, nil)
		if auth {
			req.SetBasicAuth("ops", token)
		}
		if site != "" {
			// A browser names the page a POST comes from.
			req.Header.Set("Sec-Fetch-Site", site)
			req.Header.Set("Origin", map[bool]string{true: "http://" + s.Addr, false: "https://evil.example"}[site == "same-origin"])
		}
		resp, err := http.DefaultClient.Do(req)
		resp, body := readAll(t, resp, err)
		return resp.StatusCode, body
	}
	if code, _ := post(false, ""); code != http.StatusUnauthorized {
		t.Errorf("issuing without the dashboard token answered %d", code)
	}
	if code, _ := post(true, "cross-site"); code != http.StatusForbidden {
		t.Errorf("issuing from another site answered %d", code)
	}
	count := func() (n int) {
		if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM client_links WHERE deal_id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(); got != 0 {
		t.Fatalf("%d links issued by refused requests", got)
	}
	code, body := post(true, "same-origin")
	path := linkPathRe.FindString(body)
	if code != http.StatusOK || path == "" || !strings.Contains(body, `id="client-link"`) {
		t.Fatalf("issuing answered %d without a link:\n%s", code, body)
	}
	if resp, page := fetch(t, http.DefaultClient, "http://"+s.Addr+path); resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="signoff"`) {
		t.Errorf("the issued link opens with %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr+"/deals/"+id, nil)
	req.SetBasicAuth("ops", token)
	resp, err := http.DefaultClient.Do(req)
	_, page := readAll(t, resp, err)
	var lives time.Duration
	if err := s.Pool.QueryRow(context.Background(), `SELECT (extract(epoch FROM expires_at - created_at) * 1e9)::bigint FROM client_links WHERE deal_id = $1`, id).Scan(&lives); err != nil {
		t.Fatal(err)
	}
	if lives != 72*time.Hour {
		t.Errorf("the link lives %s, want the deal's 3 days", lives)
	}
	for _, want := range []string{`id="issue-scoping"`, "<td>live</td>", "/revoke", "by dashboard token", "no matching link"} {
		if !strings.Contains(page, want) {
			t.Errorf("the deal page lacks %q", want)
		}
	}
}
