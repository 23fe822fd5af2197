package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dealflow/activities/slackfake"
	"dealflow/clientlink"
	"dealflow/deal/dealtest"
	"dealflow/hubspot"
)

// TestRoutesOnlyFromTheTable reads the package's source: no handler is
// registered anywhere but mount, which registers routeTable's rows, so a
// route cannot skip its authentication and rate limit.
func TestRoutesOnlyFromTheTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			fn := enclosingFunc(file, call.Pos())
			if f != "routes.go" || fn != "mount" {
				t.Errorf("%s: a handler registered in %s, outside routeTable (routes.go, mount)", fset.Position(call.Pos()), fn)
			}
			return true
		})
	}
	// And the mux mounted from the table routes every row's pattern to it.
	s := &Server{cfg: Config{FinanceToken: "f", DashboardToken: "d"}, links: &clientlink.Links{}, hubspot: &hubspot.Bridge{}}
	mux := s.mount(false)
	for _, rt := range routeTable {
		if rt.auth == authOps {
			continue
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{$}", "", "{deal_id}", "d", "{question_id}", "q", "{ticket}", "t", "{link_id}", "l", "{id}", "j", "{token}", "k").Replace(path)
		if _, got := mux.Handler(httptest.NewRequest(method, path, nil)); got != rt.pattern {
			t.Errorf("%s %s reaches %q, want the table's %q", method, path, got, rt.pattern)
		}
	}
}

func enclosingFunc(file *ast.File, pos token.Pos) string {
	for _, d := range file.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Pos() <= pos && pos < fd.End() {
			return fd.Name.Name
		}
	}
	return "package scope"
}

// TestRouteAuthentication walks the route table. For each route it asks
// five times: with no credential, a wrong one, the route's own credential,
// a person's name from a trusted proxy, and the same name from an address
// that is not one. A route that changes anything never answers 2xx
// without its credential; and every route of the table has its case here.
func TestRouteAuthentication(t *testing.T) {
	const trustedAddr, untrustedAddr = "10.1.2.3:4000", "192.0.2.9:4000"
	s, _ := slackServer(t, func(c *Config) {
		c.ClientLinkSecret, c.BaseURL = testLinkSecret, "http://127.0.0.1"
		c.FinanceToken = financeToken
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		stages, _ := hubspot.ParseStages(hsStages)
		// HubSpot on, its API nowhere: only the webhook's signature is asked.
		c.HubSpot = hubspot.Config{Token: hsToken, ClientSecret: hsSecret, APIURL: "http://127.0.0.1:1", Stages: stages}
		c.AuthFailLimit = RateLimit{PerMinute: 60000, Burst: 10000}
		c.ClientIPLimit = RateLimit{PerMinute: 60000, Burst: 10000}
		c.ClientTokenLimit = RateLimit{PerMinute: 60000, Burst: 10000}
	})
	id := "auth-1"
	atClientSignoff(t, s, id)
	links := &clientlink.Links{Secret: []byte(testLinkSecret), Store: s.Store}
	link, err := links.Issue(t.Context(), id, "scoping", dealtest.Presales)
	if err != nil {
		t.Fatal(err)
	}
	h := s.publicHandler()

	// in is what the route answers once let in; out what it answers
	// without its credential (0: the same as in, for open routes).
	type want struct {
		path, body string
		in, out    int
	}
	cases := map[string]want{
		"GET /healthz":          {"/healthz", "", 200, 0},
		"GET /readyz":           {"/readyz", "", 200, 401},
		"GET /metrics":          {"/metrics", "", 200, 401},
		"GET /static/pages.css": {"/static/pages.css", "", 200, 0},
		"GET /signin":           {"/signin", "", 303, 401},
		"GET /{$}":              {"/", "", 303, 401},
		"GET /deals":            {"/deals", "", 200, 401},
		"GET /deals/{deal_id}":  {"/deals/" + id, "", 200, 401},
		"GET /reports/handover": {"/reports/handover", "", 200, 401},
		"POST /deals/{deal_id}/tickets/{ticket}/client-links": {"/deals/nope/tickets/scoping/client-links", "", 404, 401},
		"POST /deals/{deal_id}/client-links/{link_id}/revoke": {"/deals/nope/client-links/abc/revoke", "", 404, 401},
		// Let in, the token is no one and a person from the proxy is not in
		// Slack: 403 either way, and nothing is sent.
		"POST /deals/{deal_id}/questions":                      {"/deals/nope/questions", "", 403, 401},
		"POST /deals/{deal_id}/questions/{question_id}/answer": {"/deals/nope/questions/q1/answer", "", 403, 401},
		"POST /api/invoices":                                   {"/api/invoices", "[]", 200, 401},
		"POST /api/invoices.csv":                               {"/api/invoices.csv", "deal_id,invoice_id,category,amount,currency,date\n", 200, 401},
		"GET /api/invoices/jobs/{id}":                          {"/api/invoices/jobs/nope", "", 404, 401},
		"POST /slack/interactions":                             {"/slack/interactions", "", 400, 401},
		"POST /hubspot/webhook":                                {"/hubspot/webhook", "[]", 204, 401},
		"GET /client/style.css":                                {"/client/style.css", "", 200, 0},
		"GET /client/{token}":                                  {"/client/" + link.Token, "", 200, 404},
		"POST /client/{token}":                                 {"/client/" + link.Token, "", 403, 404}, // let in, but the form has no CSRF value
	}
	for _, rt := range routeTable {
		w, ok := cases[rt.pattern]
		if !ok {
			t.Errorf("route %s has no case in this test", rt.pattern)
			continue
		}
		method, _, _ := strings.Cut(rt.pattern, " ")
		do := func(what, remote string, set func(r *http.Request)) int {
			path := w.path
			if rt.auth == authClientLink && what != "the credential" {
				// The link is in the path: a wrong one is another token.
				path = "/client/" + strings.Repeat("A", clientlink.TokenLen)
			}
			r := httptest.NewRequest(method, path, strings.NewReader(w.body))
			r.Host, r.RemoteAddr = "127.0.0.1", remote
			// A browser names the page a change comes from.
			r.Header.Set("Origin", "http://127.0.0.1")
			if set != nil {
				set(r)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			code := rec.Code
			if rt.changes && code/100 == 2 && what != "the credential" && what != "a person from a trusted proxy" {
				t.Errorf("%s %s: %d, a change answered 2xx", rt.pattern, what, code)
			}
			return code
		}
		bearer := func(tok string) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
		}
		person := func(r *http.Request) { r.Header.Set("X-Forwarded-Email", "ana@firm.example") }
		credential := bearer(testDashboardToken)
		switch rt.auth {
		case authFinance:
			credential = bearer(financeToken)
		case authSlack:
			credential = func(r *http.Request) {
				ts := time.Now().Unix()
				r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
				r.Header.Set("X-Slack-Signature", slackfake.Sign(testSigningSecret, ts, []byte(w.body)))
			}
		case authHubSpot:
			credential = func(r *http.Request) {
				ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
				r.Header.Set("X-HubSpot-Request-Timestamp", ts)
				r.Header.Set("X-HubSpot-Signature-v3", hubspot.Sign(hsSecret, r.Method, "http://127.0.0.1"+r.URL.RequestURI(), []byte(w.body), ts))
			}
		case authClientLink, authNone:
			credential = nil
		}
		out := w.out
		if out == 0 {
			out = w.in
		}
		// A person from a trusted proxy is a credential of the pages only.
		personWant := out
		if rt.auth == authPeople || rt.auth == authOps {
			personWant = w.in
		}
		for _, c := range []struct {
			what, remote string
			set          func(*http.Request)
			want         int
		}{
			{"no credential", "127.0.0.1:5000", nil, out},
			{"a wrong credential", "127.0.0.1:5000", bearer("wrong-0123456789abcdef0123456789abcdef"), out},
			{"the credential", "127.0.0.1:5000", credential, w.in},
			{"a person from a trusted proxy", trustedAddr, person, personWant},
			{"a person from an untrusted address", untrustedAddr, person, out},
		} {
			if got := do(c.what, c.remote, c.set); got != c.want {
				t.Errorf("%s with %s: %d, want %d", rt.pattern, c.what, got, c.want)
			}
		}
	}
}
