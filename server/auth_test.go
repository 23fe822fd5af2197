package server

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// TestAuthSchemeAnyCase: the dashboard and the finance intake read
// Authorization alike. The scheme is case-insensitive (RFC 9110 §11.1) and
// spaces around it are tolerated; the secret is compared as it is.
func TestAuthSchemeAnyCase(t *testing.T) {
	const dash, fin = "dash-Token-1-0123456789abcdef012345", "fin-Token-2-0123456789abcdef012345"
	s := startServer(t, func(c *Config) { c.DashboardToken, c.FinanceToken = dash, fin })
	base := "http://" + s.Addr
	basic := func(scheme, user, pw string) string {
		return scheme + " " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
	}
	status := func(path, auth string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The finance job status answers 404 for a job it does not know, once
	// the token let the request in.
	const dashPath, finPath = "/deals", "/api/invoices/jobs/no-such-job"

	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		for _, sp := range []string{" ", "   ", "\t"} {
			if got := status(dashPath, scheme+sp+dash); got != http.StatusOK {
				t.Errorf("dashboard with %q: %d, want 200", scheme+sp+"TOKEN", got)
			}
			if got := status(finPath, scheme+sp+fin); got != http.StatusNotFound {
				t.Errorf("finance intake with %q: %d, want 404 (let in, no such job)", scheme+sp+"TOKEN", got)
			}
		}
	}
	for _, scheme := range []string{"Basic", "basic", "BASIC", "bAsIc"} {
		if got := status(dashPath, basic(scheme, "ana", dash)); got != http.StatusOK {
			t.Errorf("dashboard with %s auth: %d, want 200", scheme, got)
		}
		// Finance sends its token as a bearer token, as the README says.
		if got := status(finPath, basic(scheme, "ana", fin)); got != http.StatusUnauthorized {
			t.Errorf("finance intake with %s auth: %d, want 401", scheme, got)
		}
	}
	for _, c := range []struct{ name, dash, fin string }{
		{"no header", "", ""},
		{"scheme only", "Bearer", "Bearer"},
		{"scheme and spaces", "Bearer   ", "Bearer   "},
		{"glued to the scheme", "Bearer" + dash, "Bearer" + fin},
		{"another scheme", "Token " + dash, "Token " + fin},
		{"token in another case", "Bearer " + strings.ToUpper(dash), "Bearer " + strings.ToUpper(fin)},
		{"the other surface's token", "Bearer " + fin, "Bearer " + dash},
		{"basic without a colon", "Basic " + base64.StdEncoding.EncodeToString([]byte(dash)), ""},
	} {
		if got := status(dashPath, c.dash); got != http.StatusUnauthorized {
			t.Errorf("dashboard with %s: %d, want 401", c.name, got)
		}
		if got := status(finPath, c.fin); got != http.StatusUnauthorized {
			t.Errorf("finance intake with %s: %d, want 401", c.name, got)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	for _, c := range []struct {
		h              string
		scheme, secret string
		ok             bool
	}{
		{"Bearer abc", "bearer", "abc", true},
		{"  bEARER \t abc  ", "bearer", "abc", true},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("u:p:w")), "basic", "p:w", true},
		{"BASIC " + base64.StdEncoding.EncodeToString([]byte(":pw")), "basic", "pw", true},
		{"Basic not-base64!", "", "", false},
		{"Bearer", "", "", false},
		{"Digest abc", "", "", false},
		{"", "", "", false},
	} {
		got, ok := parseAuthorization(c.h)
		if ok != c.ok || got.scheme != c.scheme || got.secret != c.secret {
			t.Errorf("parseAuthorization(%q) = %+v %v, want %s %q %v", c.h, got, ok, c.scheme, c.secret, c.ok)
		}
	}
}
