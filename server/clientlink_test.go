package server

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"dealflow/activities"
	"dealflow/activities/slackfake"
	"dealflow/clientlink"
	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/workflows"
)

const testLinkSecret = "client-link-test-secret-0123456789abcdef"

// linkServer is a worker with client links on and Slack faked. The rate
// limits are raised so the tests' many requests from one address pass;
// TestClientPageRateLimits checks the limits themselves.
func linkServer(t *testing.T, mutate func(*Config)) (*Server, *slackfake.Server) {
	t.Helper()
	return slackServer(t, func(c *Config) {
		c.ClientLinkSecret = testLinkSecret
		c.BaseURL = "http://127.0.0.1"
		c.ClientIPLimit = RateLimit{PerMinute: 60000, Burst: 10000}
		c.ClientTokenLimit = RateLimit{PerMinute: 60000, Burst: 10000}
		if mutate != nil {
			mutate(c)
		}
	})
}

// atClientSignoff opens a deal and walks it to the scoping ticket approved
// internally, waiting for the client; PostgreSQL has caught up.
func atClientSignoff(t *testing.T, s *Server, id string, mutate ...func(*deal.Terms)) {
	t.Helper()
	terms := dealtest.Terms(id, time.Now())
	for _, m := range mutate {
		m(&terms)
	}
	openDeal(t, s, terms)
	send(t, s, id, dealtest.ToClosing()[:3]...)
	stored(t, s, id)
}

var linkPathRe = regexp.MustCompile(`/client/[A-Za-z0-9_-]+`)
var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// browserish is an HTTP client with a cookie jar, as a browser has.
func browserish(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// staff is an HTTP client that signs in to the deal pages as a script
// does, with the test servers' dashboard token.
func staff(t *testing.T) *http.Client {
	c := browserish(t)
	c.Transport = bearerTransport(testDashboardToken)
	return c
}

type bearerTransport string

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

func fetch(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	return readAll(t, resp, err)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	return readAll(t, resp, err)
}

// readAll reads a response whole, failing the test on a transport error.
func readAll(t *testing.T, resp *http.Response, err error) (*http.Response, string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// openForm fetches a link's page and returns the form's CSRF value.
func openForm(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, body := fetch(t, c, u)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s answered %d:\n%s", u, resp.StatusCode, body)
	}
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page has no CSRF value:\n%s", body)
	}
	return m[1]
}

func approval(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {"Jane Doe"}, "email": {"jane@client.com"}, "decision": {"approve"}}
}

// TestClientSignsOffThroughLink is the whole flow: the owner clicks "Link
// for the client" in Slack and gets the link privately, the client opens
// the public page and approves, the deal moves to proposal, and the
// record, PostgreSQL, Slack and the deal page say who signed.
func TestClientSignsOffThroughLink(t *testing.T) {
	s, fake := linkServer(t, nil)
	ctx := context.Background()
	id := "cl-1"
	atClientSignoff(t, s, id)

	msg := slackTicketMessage(t, fake, "scoping", activities.ActionClientLink)
	slackClick(t, s, dealtest.AE, msg, activities.ActionClientLink)
	slackWantContains(t, "the answer to a non-owner", slackNextEphemeral(t, fake, dealtest.AE, 1), "Only <@U_PRESALES>")
	slackClick(t, s, dealtest.Presales, msg, activities.ActionClientLink)
	answer := slackNextEphemeral(t, fake, dealtest.Presales, 1)
	path := linkPathRe.FindString(answer)
	if path == "" {
		t.Fatalf("the owner's answer holds no link: %q", answer)
	}
	link := "http://" + s.Addr + path

	browser := browserish(t)
	resp, page := fetch(t, browser, link)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the link's page answered %d:\n%s", resp.StatusCode, page)
	}
	for h, want := range map[string]string{"Content-Security-Policy": pageCSP, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	for _, want := range []string{"Globex / Data platform cl-1", "scoping: scoping decision log", "scoping deliverable",
		`href="https://docs.example.com/scoping"`, `name="csrf"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the client's page lacks %q", want)
		}
	}
	// Nothing else of the deal: no people's ids, no money, no other ticket.
	for _, leak := range []string{"U_", "margin", "100000", "EUR", "discovery deliverable", "10% off", "/deals"} {
		if strings.Contains(page, leak) {
			t.Errorf("the client's page shows %q:\n%s", leak, page)
		}
	}
	csrf := csrfRe.FindStringSubmatch(page)[1]

	resp, done := postForm(t, browser, link, approval(csrf))
	if resp.StatusCode != http.StatusOK || !strings.Contains(done, "Thank you, Jane Doe") {
		t.Fatalf("submitting the approval answered %d:\n%s", resp.StatusCode, done)
	}

	rec, st := stored(t, s, id)
	if st.Deal.Stage != deal.Proposal || rec.Stage != deal.Proposal {
		t.Fatalf("the deal is at %s (PostgreSQL %s), want proposal", st.Deal.Stage, rec.Stage)
	}
	sos := slackTicket(rec, "scoping").Signoffs
	last := sos[len(sos)-1]
	links := &clientlink.Links{Secret: []byte(testLinkSecret), Store: s.Store}
	wantEvidence := links.Evidence("127.0.0.1", "Go-http-client/1.1")
	if c := last.Client; last.Side != "client" || last.Decision != "approve" || last.By != dealtest.Presales || c == nil ||
		c.Name != "Jane Doe" || c.Email != "jane@client.com" || c.Evidence != wantEvidence || c.LinkID == "" {
		t.Fatalf("the record's last scoping sign-off is %+v with client %+v, want Jane Doe's approval with evidence %s", last, last.Client, wantEvidence)
	}
	var usedAt *time.Time
	var decision, evidence string
	if err := s.Pool.QueryRow(ctx, `SELECT l.used_at, l.decision, s.client_evidence FROM client_links l
		JOIN signoffs s ON s.deal_id = l.deal_id AND s.client_link_id = l.link_id WHERE l.link_id = $1`, last.Client.LinkID).Scan(&usedAt, &decision, &evidence); err != nil {
		t.Fatal(err)
	}
	if usedAt == nil || decision != "approve" || evidence != wantEvidence {
		t.Errorf("PostgreSQL holds the link used at %v for %q with evidence %q", usedAt, decision, evidence)
	}

	line := "approved by Jane Doe (jane@client.com) via link"
	slackMessage(t, fake, "the scoping message to say who signed", func(m slackfake.Message) bool {
		return strings.Contains(slackfake.Text(m.Blocks), line) && strings.Contains(slackfake.Text(m.Blocks), "Scoping ticket")
	})
	if _, dealPage := fetch(t, staff(t), "http://"+s.Addr+"/deals/"+id); !strings.Contains(dealPage, line) || strings.Contains(dealPage, "no matching link") {
		t.Errorf("the deal page does not say %q, or doubts it", line)
	}

	// The same link again: one decision per link, and nothing changes.
	before := st.Deal.Version
	if resp, body := postForm(t, browser, link, approval(csrf)); resp.StatusCode != http.StatusGone || !strings.Contains(body, "already used") {
		t.Errorf("a reused link answered %d:\n%s", resp.StatusCode, body)
	}
	if resp, body := fetch(t, browser, link); resp.StatusCode != http.StatusGone || !strings.Contains(body, "ask the person who sent it to you for a new link") {
		t.Errorf("opening a used link answered %d:\n%s", resp.StatusCode, body)
	}
	if _, st := stored(t, s, id); st.Deal.Version != before {
		t.Errorf("a reused link changed the deal: version %d, was %d", st.Deal.Version, before)
	}
}

// TestClientLinksRefused: links that must not work do not, each with its
// own page, and none changes the deal.
func TestClientLinksRefused(t *testing.T) {
	s, _ := linkServer(t, nil)
	ctx := context.Background()
	base := "http://" + s.Addr
	links := &clientlink.Links{Secret: []byte(testLinkSecret), Store: s.Store}
	id := "cl-2"
	atClientSignoff(t, s, id)
	_, st := stored(t, s, id)
	version := st.Deal.Version
	unchanged := func(t *testing.T) {
		t.Helper()
		if _, st := stored(t, s, id); st.Deal.Version != version || st.Deal.Stage != deal.Scoping {
			t.Fatalf("the deal changed: at %s, version %d (was %d)", st.Deal.Stage, st.Deal.Version, version)
		}
	}
	issue := func(t *testing.T, l *clientlink.Links) clientlink.Link {
		t.Helper()
		k, err := l.Issue(ctx, id, "scoping", dealtest.Presales)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	// refused opens the link and submits an approval with a good CSRF
	// value; both must answer code with the page saying want.
	refused := func(t *testing.T, token string, code int, want string) {
		t.Helper()
		c := browserish(t)
		resp, body := fetch(t, c, base+"/client/"+token)
		if resp.StatusCode != code || !strings.Contains(body, want) || !strings.Contains(body, "new link") {
			t.Errorf("GET answered %d, want %d saying %q and what to do:\n%s", resp.StatusCode, code, want, body)
		}
		cookie := "a-browser-cookie-of-enough-length-0123456789"
		u, _ := url.Parse(base + "/client/")
		c.Jar.SetCookies(u, []*http.Cookie{{Name: csrfCookie, Value: cookie}})
		raw, _ := base64.RawURLEncoding.DecodeString(token)
		linkID := ""
		if len(raw) >= 16 {
			linkID = hex.EncodeToString(raw[:16])
		}
		if resp, body := postForm(t, c, base+"/client/"+token, approval(links.CSRF(cookie, linkID))); resp.StatusCode != code || !strings.Contains(body, want) {
			t.Errorf("POST answered %d, want %d saying %q:\n%s", resp.StatusCode, code, want, body)
		}
	}

	t.Run("expired", func(t *testing.T) {
		old := &clientlink.Links{Secret: links.Secret, Store: s.Store, Now: func() time.Time { return time.Now().Add(-15 * 24 * time.Hour) }}
		refused(t, issue(t, old).Token, http.StatusGone, "expired")
		unchanged(t)
	})
	t.Run("revoked on the deal page", func(t *testing.T) {
		k := issue(t, links)
		if resp, body := postForm(t, staff(t), base+"/deals/"+id+"/client-links/"+k.ID+"/revoke", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoking answered %d:\n%s", resp.StatusCode, body)
		}
		refused(t, k.Token, http.StatusGone, "withdrawn")
		unchanged(t)
	})
	t.Run("revoked by the starter's query", func(t *testing.T) {
		k := issue(t, links)
		if n, err := links.RevokeTicket(ctx, id, "scoping", dealtest.Presales); err != nil || n == 0 {
			t.Fatalf("revoked %d links: %v", n, err)
		}
		refused(t, k.Token, http.StatusGone, "withdrawn")
		unchanged(t)
	})
	t.Run("tampered at every byte", func(t *testing.T) {
		k := issue(t, links)
		raw, err := base64.RawURLEncoding.DecodeString(k.Token)
		if err != nil || len(raw) != 48 {
			t.Fatalf("token %q decodes to %d bytes: %v", k.Token, len(raw), err)
		}
		c := browserish(t)
		for i := range raw {
			bad := append([]byte(nil), raw...)
			bad[i] ^= 0x01
			tok := base64.RawURLEncoding.EncodeToString(bad)
			if resp, body := fetch(t, c, base+"/client/"+tok); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not valid") {
				t.Fatalf("a token with byte %d changed answered %d:\n%s", i, resp.StatusCode, body)
			}
		}
		for _, tok := range []string{k.Token[:len(k.Token)-1], k.Token + "A", k.Token[:43], "", strings.Repeat("A", 64), k.Token + "=="} {
			if resp, body := fetch(t, c, base+"/client/"+tok); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("token %q answered %d:\n%s", tok, resp.StatusCode, body)
			}
		}
		refused(t, k.Token[:20]+"x"+k.Token[21:], http.StatusNotFound, "not valid")
		// A link signed with another secret is as good as forged.
		other := &clientlink.Links{Secret: []byte("another-secret-of-the-right-length-0123456789"), Store: s.Store}
		refused(t, issue(t, other).Token, http.StatusNotFound, "not valid")
		unchanged(t)
	})
	t.Run("without the CSRF token", func(t *testing.T) {
		k := issue(t, links)
		u := base + "/client/" + k.Token
		c := browserish(t)
		csrf := openForm(t, c, u)
		noField := approval(csrf)
		noField.Del("csrf")
		for what, form := range map[string]url.Values{"no field": noField, "a wrong value": approval(csrf[1:] + "A"),
			"another link's value": approval(links.CSRF("a-browser-cookie-of-enough-length-0123456789", issue(t, links).ID))} {
			if resp, body := postForm(t, c, u, form); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not sent from this page") {
				t.Errorf("%s: answered %d:\n%s", what, resp.StatusCode, body)
			}
		}
		// The value without the cookie it is bound to (another browser).
		if resp, _ := postForm(t, browserish(t), u, approval(csrf)); resp.StatusCode != http.StatusForbidden {
			t.Errorf("the CSRF value without its cookie answered %d", resp.StatusCode)
		}
		// A cross-site POST is refused by the browser's own headers too.
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(approval(csrf).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("a cross-site POST answered %v %v", resp.StatusCode, err)
		}
		// An incomplete form is sent back to be corrected, and the link
		// still works.
		bad := approval(csrf)
		bad.Set("decision", "changes_requested")
		if resp, body := postForm(t, c, u, bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "what should change") {
			t.Errorf("a change request without a note answered %d:\n%s", resp.StatusCode, body)
		}
		openForm(t, c, u)
		unchanged(t)
	})
	t.Run("a ticket that does not need the client", func(t *testing.T) {
		if _, err := links.Issue(ctx, id, "discovery", dealtest.Presales); err != clientlink.ErrNotNeeded {
			t.Errorf("issuing for discovery: %v, want %v", err, clientlink.ErrNotNeeded)
		}
		if resp, body := postForm(t, staff(t), base+"/deals/"+id+"/tickets/discovery/client-links", nil); resp.StatusCode != http.StatusConflict {
			t.Errorf("the deal page issued a link for discovery: %d\n%s", resp.StatusCode, body)
		}
		// A row written for it behind Issue's back, and signed: the page
		// still turns it away.
		now := time.Now().UTC().Truncate(time.Second)
		row := dbq.ClientLink{LinkID: strings.Repeat("ab", 16), DealID: id, TicketID: "discovery", DeliverableDigest: "x", CreatedBy: "test",
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.Store.Queries().InsertClientLink(ctx, dbq.InsertClientLinkParams{LinkID: row.LinkID, DealID: id, TicketID: "discovery",
			DeliverableDigest: "x", CreatedBy: "test", CreatedAt: now, ExpiresAt: row.ExpiresAt, ApprovalSeq: 0}); err != nil {
			t.Fatal(err)
		}
		k, err := links.Link(row)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, k.Token, http.StatusGone, "does not need your sign-off")
		unchanged(t)
	})
	// Last: it changes the deal on purpose.
	t.Run("the deliverable changed", func(t *testing.T) {
		k := issue(t, links)
		send(t, s, id,
			dealtest.Step{Signal: deal.SigSignoff, Payload: dealtest.JSON(map[string]any{"ticket": "scoping", "by": dealtest.Presales, "side": "internal",
				"decision": "changes_requested", "note": "one more integration"})},
			dealtest.Step{Signal: deal.SigSignoff, Payload: dealtest.JSON(map[string]any{"ticket": "scoping", "by": dealtest.Presales, "side": "internal",
				"decision": "approve", "deliverable": map[string]string{"body": "scoping deliverable, with the ERP integration"}})})
		_, st := stored(t, s, id)
		version = st.Deal.Version
		refused(t, k.Token, http.StatusGone, "changed")
		unchanged(t)
		// The deal's own rule turns a decision on the old deliverable away
		// too, should it get past PostgreSQL's check in a race.
		res, err := workflows.Send(ctx, s.Client, id, deal.SigSignoff, dealtest.ClientSigned("scoping", "client", "approve", nil).Payload)
		if err != nil || res.Status != deal.Refused || !strings.Contains(res.Reason, "changed since the client's link was issued") {
			t.Fatalf("a decision on the old deliverable: %+v %v", res, err)
		}
	})
}

// TestClientPageRateLimits: a link asked for too often, or one address
// asking too often, gets 429 with Retry-After; and without
// CLIENT_LINK_SECRET there are no client pages at all.
func TestClientPageRateLimits(t *testing.T) {
	s, _ := slackServer(t, func(c *Config) {
		c.ClientLinkSecret = testLinkSecret
		c.BaseURL = "http://127.0.0.1"
		c.ClientIPLimit = RateLimit{PerMinute: 1, Burst: 5}
		c.ClientTokenLimit = RateLimit{PerMinute: 1, Burst: 3}
	})
	base := "http://" + s.Addr + "/client/"
	codes := func(tok string, n int) []int {
		var out []int
		for range n {
			resp, _ := fetch(t, http.DefaultClient, base+tok)
			out = append(out, resp.StatusCode)
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
		return out
	}
	if got := codes("same-token", 4); got[2] != http.StatusNotFound || got[3] != http.StatusTooManyRequests {
		t.Errorf("one token four times answered %v, want the 4th 429", got)
	}
	if got := codes("other-token", 2); got[0] != http.StatusNotFound || got[1] != http.StatusTooManyRequests {
		t.Errorf("the address's 5th and 6th requests answered %v, want 404 then 429", got)
	}

	off := startServer(t, nil)
	if resp, _ := fetch(t, http.DefaultClient, "http://"+off.Addr+"/client/anything"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("without CLIENT_LINK_SECRET /client/ answered %d", resp.StatusCode)
	}
}
