package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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
