package server

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/report/reporttest"
)

// badIDs are path segments no deal, ticket, link or job can have, or that
// name none: PostgreSQL text holds neither NUL nor invalid UTF-8, and
// Temporal keeps workflow ids under 1,000 bytes.
var badIDs = map[string]string{
	"NUL":             "%00",
	"NUL inside":      "a%00b",
	"invalid UTF-8":   "%FF%FE",
	"10,000 bytes":    strings.Repeat("x", 10000),
	"question mark":   "a%3Fb",
	"hash":            "a%23b",
	"escaped slash":   "a%2Fb",
	"control":         "a%01b",
	"only a space":    "%20",
	"percent literal": "100%25",
}

// TestBadIDsAnswer404: every path that names a deal (or a ticket, link or
// job) answers 404 with a short message for an id that is none, never 500,
// and never echoes a long or broken id back.
func TestBadIDsAnswer404(t *testing.T) {
	s, _ := linkServer(t, func(c *Config) { c.FinanceToken = financeToken })
	base := "http://" + s.Addr
	do := func(method, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testDashboardToken)
		if strings.HasPrefix(path, "/api/") {
			req.Header.Set("Authorization", "Bearer "+financeToken)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		resp, body := readAll(t, resp, err)
		return resp.StatusCode, body
	}
	for name, id := range badIDs {
		for _, p := range []struct{ method, path string }{
			{"GET", "/deals/" + id},
			{"POST", "/deals/" + id + "/tickets/scoping/client-links"},
			{"POST", "/deals/" + id + "/client-links/abc/revoke"},
			{"POST", "/deals/ok-id/tickets/" + id + "/client-links"},
			{"POST", "/deals/ok-id/client-links/" + id + "/revoke"},
			{"GET", "/api/invoices/jobs/" + id},
			{"GET", "/client/" + id},
		} {
			code, body := do(p.method, p.path)
			short := p.path
			if len(short) > 60 {
				short = short[:60] + "…"
			}
			if code != http.StatusNotFound {
				t.Errorf("%s: %s %s answered %d, want 404:\n%.300s", name, p.method, short, code, body)
			}
			if dec, _ := url.PathUnescape(id); len(dec) > 100 && strings.Contains(body, dec[:100]) {
				t.Errorf("%s: %s %s echoes the id back", name, p.method, short)
			}
		}
	}
	// Filters are no ids, but hold the same text: refused, never a 500.
	for _, q := range []string{"client=%00", "ae=%FF", "pm=" + strings.Repeat("x", 10000)} {
		if code, body := do("GET", "/deals?"+q); code != http.StatusBadRequest {
			t.Errorf("GET /deals?%.20s: %d, want 400:\n%.300s", q, code, body)
		}
	}
	// A well-formed id of no deal still says which.
	if code, body := do("GET", "/deals/no-such-deal"); code != http.StatusNotFound || !strings.Contains(body, "no-such-deal") {
		t.Errorf("GET /deals/no-such-deal: %d %.300s", code, body)
	}
}

// TestBadDealIDQueriesNothing: an id that cannot be a deal's is answered
// before anything is read. The Server here has no database and no links,
// so a query would panic.
func TestBadDealIDQueriesNothing(t *testing.T) {
	s := &Server{}
	for name, h := range map[string]http.HandlerFunc{"deal page": s.dealPage, "issue link": s.issueLinkPage, "revoke link": s.revokeLinkPage} {
		for _, id := range []string{"\x00", "a\x00b", "\xff", strings.Repeat("x", 10000)} {
			req := httptest.NewRequest(http.MethodGet, "/deals/x", nil)
			for _, v := range []string{"deal_id", "ticket", "link_id"} {
				req.SetPathValue(v, "ok")
			}
			req.SetPathValue("deal_id", id)
			rec := httptest.NewRecorder()
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s with id %.20q reached the store: %v", name, id, p)
					}
				}()
				h(rec, req)
			}()
			if rec.Code != http.StatusNotFound {
				t.Errorf("%s with id %.20q: %d, want 404", name, id, rec.Code)
			}
		}
	}
}

// oddIDs are deal ids older deals may have: each holds a character that
// means something in a URL.
var oddIDs = []string{"x?a#b", "sp ace", "pct%41", "pct%zz", "sl/ash", "amp&semi;", "plus+", "dots..", "ünï"}

var (
	dealRowRe  = regexp.MustCompile(`<tr data-deal="([^"]*)">\s*<td><a href="([^"]*)"`)
	reportRe   = regexp.MustCompile(`<tr><td><a href="([^"]*)">([^<]*)</a>`)
	clientRe   = regexp.MustCompile(`<a href="(/deals\?client=[^"]*)">`)
	dealIDRe   = regexp.MustCompile(`· deal (.*?) · workflow`)
	actionRe   = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	backLinkRe = regexp.MustCompile(`<a href="([^"]*)">Back to the deal</a>`)
)

// TestOddDealIDsReachable: a deal whose id holds '?', '#', a space, '%' or
// '/' is reached by following the links the pages render, as a browser
// resolves them, and its client's name survives the filter link.
func TestOddDealIDsReachable(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	const client = "Acme & Sons #1? 100%"
	for i, id := range oddIDs {
		// Made under a plain id: the terms refuse spaces and slashes now,
		// which older rows may still hold.
		r, err := reporttest.Drifting("odd-"+strconv.Itoa(i), "U_AE_ODD", "U_PM_ODD", time.Now().AddDate(0, 0, -5-i))
		if err != nil {
			t.Fatal(err)
		}
		r.Terms.DealID, r.Terms.Client = id, client
		if err := s.Store.ImportRecord(ctx, r, nil, "seed-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	base, _ := url.Parse("http://" + s.Addr + "/deals")
	follow := func(from *url.URL, href string) (*url.URL, int, string) {
		t.Helper()
		ref, err := url.Parse(html.UnescapeString(href))
		if err != nil {
			t.Fatalf("link %q: %v", href, err)
		}
		u := from.ResolveReference(ref)
		code, body := get(t, u.String(), nil)
		return u, code, body
	}
	// shows says which deal a deal page is about, from what it prints.
	shows := func(body string) string {
		m := dealIDRe.FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return html.UnescapeString(m[1])
	}

	code, list := get(t, base.String(), nil)
	if code != http.StatusOK {
		t.Fatalf("GET /deals: %d", code)
	}
	found := map[string]bool{}
	for _, m := range dealRowRe.FindAllStringSubmatch(list, -1) {
		id := html.UnescapeString(m[1])
		found[id] = true
		u, code, body := follow(base, m[2])
		if code != http.StatusOK || shows(body) != id {
			t.Errorf("the list's link for %q, %s, answers %d showing deal %q", id, u, code, shows(body))
			continue
		}
		// The deal page's client link lists the deal again.
		cm := clientRe.FindStringSubmatch(body)
		if cm == nil {
			t.Errorf("deal page of %q has no client link", id)
			continue
		}
		cu, code, filtered := follow(u, cm[1])
		rows := dealRowRe.FindAllStringSubmatch(filtered, -1)
		if code != http.StatusOK || len(rows) != len(oddIDs) {
			t.Errorf("the client link of %q, %s, answers %d and lists %d deals, want all %d of %s", id, cu, code, len(rows), len(oddIDs), client)
		}
	}
	for _, id := range oddIDs {
		if !found[id] {
			t.Errorf("the list shows no row for %q", id)
		}
	}

	rep, _ := url.Parse("http://" + s.Addr + "/reports/handover")
	code, report := get(t, rep.String(), nil)
	if code != http.StatusOK {
		t.Fatalf("GET /reports/handover: %d", code)
	}
	links := reportRe.FindAllStringSubmatch(report, -1)
	if len(links) < len(oddIDs) {
		t.Fatalf("the report links %d deals, want at least %d", len(links), len(oddIDs))
	}
	for _, m := range links {
		if u, code, body := follow(rep, m[1]); code != http.StatusOK || !slices.Contains(oddIDs, shows(body)) {
			t.Errorf("the report's link %s answers %d showing deal %q", u, code, shows(body))
		}
	}
}

// TestOddDealIDsInForms: the deal page's client-link forms and the issued
// link's page reach the routes with the deal, ticket and link ids whole.
func TestOddDealIDsInForms(t *testing.T) {
	mux := http.NewServeMux()
	var got []string
	record := func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.PathValue("deal_id")+"|"+r.PathValue("ticket")+r.PathValue("link_id"))
	}
	// The routes of mountPages and mountLinkPages.
	mux.HandleFunc("GET /deals/{deal_id}", record)
	mux.HandleFunc("POST /deals/{deal_id}/tickets/{ticket}/client-links", record)
	mux.HandleFunc("POST /deals/{deal_id}/client-links/{link_id}/revoke", record)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base, _ := url.Parse(srv.URL + "/deals/somewhere")

	for _, id := range oddIDs {
		const ticket, link = "sc?pi#ng", "l/1 %"
		r := &deal.Record{Terms: deal.Terms{DealID: id, Client: "C", Workstream: "W"},
			Tickets: []deal.Ticket{{ID: ticket, Status: "open", InternalApproved: true, ClientSignoffRequired: true}}}
		v := dealView{R: r, ClientLinks: true, Links: map[string][]linkView{ticket: {{ID: link, Ticket: ticket, State: "live"}}}}
		page := renderTo(t, "deal", v)
		var hrefs []string
		for _, m := range actionRe.FindAllStringSubmatch(page, -1) {
			hrefs = append(hrefs, m[1])
		}
		if m := backLinkRe.FindStringSubmatch(renderTo(t, "link", issuedView{DealID: id, Ticket: ticket, URL: "https://x"})); m != nil {
			hrefs = append(hrefs, m[1])
		}
		if len(hrefs) != 3 {
			t.Fatalf("deal %q: %d form actions and back links, want 3", id, len(hrefs))
		}
		got = nil
		for i, h := range hrefs {
			ref, err := url.Parse(html.UnescapeString(h))
			if err != nil {
				t.Fatal(err)
			}
			method := http.MethodPost
			if i == 2 {
				method = http.MethodGet
			}
			req, _ := http.NewRequest(method, base.ResolveReference(ref).String(), nil)
			req.Header.Set("Authorization", "Bearer "+testDashboardToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		want := []string{id + "|" + ticket, id + "|" + link, id + "|"}
		if !slices.Equal(got, want) {
			t.Errorf("deal %q: the routes got %q, want %q", id, got, want)
		}
	}
}

// renderTo executes a page template as render does, without a server. It
// executes a clone: html/template refuses to clone a template once it ran,
// and render clones the shared ones.
func renderTo(t *testing.T, page string, data any) string {
	t.Helper()
	tpl, err := pageTemplates[page].Clone()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
