package server

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"dealflow/report/reporttest"
)

// inlineRe finds what a CSP without 'unsafe-inline' blocks: inline style
// and script elements, style and event-handler attributes, javascript: URLs.
var inlineRe = regexp.MustCompile(`(?i)<style|<script|\sstyle=|\son[a-z]+=|javascript:`)

// TestPagesSendCSP: every page, error and asset answer carries the one
// strict policy, and no HTML page holds anything that policy would block;
// the client pages also send no Referer.
func TestPagesSendCSP(t *testing.T) {
	s, _ := linkServer(t, nil)
	r, err := reporttest.Drifting("csp-1", "U_AE_CSP", "U_PM_CSP", time.Now().AddDate(0, 0, -3))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.ImportRecord(context.Background(), r, nil, "seed-csp"); err != nil {
		t.Fatal(err)
	}
	guarded := startServer(t, func(c *Config) { c.DashboardToken = "csp-token-0123456789abcdef0123456789" })

	for _, c := range []struct {
		base, path string
		code       int
	}{
		{s.Addr, "/deals", http.StatusOK},
		{s.Addr, "/deals/csp-1", http.StatusOK},
		{s.Addr, "/reports/handover", http.StatusOK},
		{s.Addr, "/reports/handover?format=json", http.StatusOK},
		{s.Addr, "/deals/no-such", http.StatusNotFound},
		{s.Addr, "/deals/%00", http.StatusNotFound},
		{s.Addr, "/deals?stage=bogus", http.StatusBadRequest},
		{s.Addr, "/client/not-a-token", http.StatusNotFound},
		{s.Addr, "/client/style.css", http.StatusOK},
		{s.Addr, "/static/pages.css", http.StatusOK},
		{s.Addr, "/no/such/route", http.StatusNotFound},
		{guarded.Addr, "/deals", http.StatusUnauthorized},
	} {
		client := http.DefaultClient
		if c.base == s.Addr {
			client = staff(t)
		}
		resp, body := fetch(t, client, "http://"+c.base+c.path)
		if resp.StatusCode != c.code {
			t.Errorf("GET %s: %d, want %d", c.path, resp.StatusCode, c.code)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("GET %s: Content-Security-Policy %q lacks %s", c.path, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "*") {
			t.Errorf("GET %s: Content-Security-Policy %q allows too much", c.path, csp)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", c.path, got)
		}
		if strings.HasPrefix(c.path, "/client/") && resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: Referrer-Policy %q, want no-referrer", c.path, resp.Header.Get("Referrer-Policy"))
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			if m := inlineRe.FindString(body); m != "" {
				t.Errorf("GET %s: the page holds %q, which its CSP blocks", c.path, m)
			}
		}
	}
}
