package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// TestClientAddrBehindProxies: X-Forwarded-For and Forwarded are read only
// from a trusted proxy, from the right, skipping trusted hops; a client's
// own X-Forwarded-For changes nothing.
func TestClientAddrBehindProxies(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}}
	for _, c := range []struct {
		name, remote string
		h            http.Header
		want         string
	}{
		{"direct", "198.51.100.7:5000", nil, "198.51.100.7"},
		{"direct, forged header", "198.51.100.7:5000", http.Header{"X-Forwarded-For": {"203.0.113.1"}}, "198.51.100.7"},
		{"through the proxy", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"203.0.113.1"}}, "203.0.113.1"},
		{"client-written hop at the left", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"1.2.3.4, 203.0.113.1"}}, "203.0.113.1"},
		{"two trusted proxies", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"203.0.113.1, 10.0.0.9"}}, "203.0.113.1"},
		{"header lines", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"1.2.3.4", "203.0.113.1"}}, "203.0.113.1"},
		{"garbage hop", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"203.0.113.1, nonsense"}}, "10.0.0.2"},
		{"Forwarded", "10.0.0.2:5000", http.Header{"Forwarded": {`for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`}}, "2001:db8::1"},
		{"IPv6 proxy", "[fd00::1]:5000", http.Header{"X-Forwarded-For": {"2001:db8::7"}}, "2001:db8::7"},
		{"no header from the proxy", "10.0.0.2:5000", nil, "10.0.0.2"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for k, v := range c.h {
			r.Header[k] = v
		}
		if got := s.clientIP(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestRateLimitKeys: an IPv6 client is one key for its whole /64, so
// rotating addresses gains nothing; IPv4 addresses are keys of their own.
func TestRateLimitKeys(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:1:2:3"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
	} {
		if ka, kb := clientKey(netip.MustParseAddr(c.a).Unmap()), clientKey(netip.MustParseAddr(c.b).Unmap()); ka != kb {
			t.Errorf("%s and %s are keys %s and %s, want one", c.a, c.b, ka, kb)
		}
	}
	if clientKey(netip.MustParseAddr("2001:db8:1:2::1")) == clientKey(netip.MustParseAddr("2001:db8:1:3::1")) ||
		clientKey(netip.MustParseAddr("192.0.2.1")) == clientKey(netip.MustParseAddr("192.0.2.2")) {
		t.Error("two subscribers share a key")
	}
}

// TestLimiterFloodKeepsOthersLimits: a flood of new keys (a client
// rotating addresses) evicts only idle buckets, never resets a client's
// spent bucket while it is in use.
func TestLimiterFloodKeepsOthersLimits(t *testing.T) {
	l := newLimiter(RateLimit{PerMinute: 1, Burst: 2})
	l.max = 100
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.allow("victim-limited", now)
	l.allow("victim-limited", now)
	for i := range 1000 {
		l.allow("flood-"+strconv.Itoa(i), now)
		if i%10 == 0 && l.allow("victim-limited", now) {
			t.Fatalf("after %d new keys the spent client got a token back", i+1)
		}
	}
	if n := l.size(); n > 100 {
		t.Fatalf("%d buckets kept, at most 100", n)
	}
}

// TestFailedAuthThrottled: a client that keeps failing to authenticate is
// answered 429 before its credential is even checked, and only that
// client; a good credential from another client still gets in.
func TestFailedAuthThrottled(t *testing.T) {
	s := startServer(t, func(c *Config) { c.AuthFailLimit = RateLimit{PerMinute: 1, Burst: 3} })
	h := s.publicHandler()
	do := func(remote, token string) int {
		r := httptest.NewRequest("GET", "/deals", nil)
		r.Host, r.RemoteAddr = "127.0.0.1", remote
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	for i := range 3 {
		if code := do("198.51.100.7:1", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, code)
		}
	}
	if code := do("198.51.100.7:1", "wrong"); code != http.StatusTooManyRequests {
		t.Errorf("the 4th failure: %d, want 429", code)
	}
	if code := do("198.51.100.7:1", testDashboardToken); code != http.StatusTooManyRequests {
		t.Errorf("the throttled client with the token: %d, want 429 until it waits", code)
	}
	if code := do("198.51.100.8:1", testDashboardToken); code != http.StatusOK {
		t.Errorf("another client with the token: %d, want 200", code)
	}
}

// TestHostAndOrigin: a request naming another host (DNS rebinding) is
// refused; a browser's change from another origin is refused, and so is a
// browser-credential change with no Origin at all.
func TestHostAndOrigin(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.ClientLinkSecret, c.BaseURL = testLinkSecret, "http://127.0.0.1"
	})
	h := s.publicHandler()
	do := func(method, host, origin string, basic bool) int {
		r := httptest.NewRequest(method, "/deals/nope/client-links/abc/revoke", nil)
		if method == "GET" {
			r = httptest.NewRequest(method, "/deals", nil)
		}
		r.Host, r.RemoteAddr = host, "127.0.0.1:1"
		if basic {
			r.SetBasicAuth("ops", testDashboardToken)
		} else {
			r.Header.Set("Authorization", "Bearer "+testDashboardToken)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	for _, c := range []struct {
		name                 string
		method, host, origin string
		basic                bool
		want                 int
	}{
		{"loopback", "GET", "127.0.0.1:8080", "", false, 200},
		{"localhost", "GET", "localhost:8080", "", false, 200},
		{"a rebound name", "GET", "attacker.example:8080", "", false, http.StatusMisdirectedRequest},
		{"a script's change", "POST", "127.0.0.1:8080", "", false, 404},
		{"a browser's change from this site", "POST", "127.0.0.1:8080", "http://127.0.0.1:8080", true, 404},
		{"a browser's change from another site", "POST", "127.0.0.1:8080", "https://evil.example", true, http.StatusForbidden},
		{"a bearer change from another site", "POST", "127.0.0.1:8080", "https://evil.example", false, http.StatusForbidden},
		{"a browser's change with no Origin", "POST", "127.0.0.1:8080", "", true, http.StatusForbidden},
	} {
		if got := do(c.method, c.host, c.origin, c.basic); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
