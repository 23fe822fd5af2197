package server

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// The client's address and a person's name are believed from a request's
// headers only when its connection comes from a trusted proxy
// (TRUSTED_PROXIES). Anyone else can write X-Forwarded-For or
// X-Forwarded-Email, so for them the connection's address is the client
// and no name is read.

// peerAddr is the connection's address.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		// Tests' httptest requests carry "192.0.2.1:1234" and parse; a
		// unix socket or a bare host does not, and is trusted by nobody.
		if a, err := netip.ParseAddr(strings.Trim(r.RemoteAddr, "[]")); err == nil {
			return a.Unmap()
		}
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (s *Server) trusted(a netip.Addr) bool {
	return a.IsValid() && slices.ContainsFunc(s.cfg.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(a) })
}

// clientAddr is who sent the request: the connection's address, or, from
// a trusted proxy, the nearest address in X-Forwarded-For (or Forwarded)
// that is not itself a trusted proxy, read from the right, since a client
// can put anything at the left.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	a := peerAddr(r)
	if !s.trusted(a) {
		return a
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(hops[i])
		if err != nil {
			// A hop we cannot read ends what can be believed.
			return a
		}
		a = h.Unmap()
		if !s.trusted(a) {
			return a
		}
	}
	return a
}

// forwardedFor lists the hops of X-Forwarded-For, or of Forwarded's for=
// when there is no X-Forwarded-For, left to right.
func forwardedFor(h http.Header) []string {
	var out []string
	if xs := h.Values("X-Forwarded-For"); len(xs) > 0 {
		for _, x := range xs {
			for _, p := range strings.Split(x, ",") {
				out = append(out, strings.TrimSpace(p))
			}
		}
		return out
	}
	for _, x := range h.Values("Forwarded") {
		for _, elem := range strings.Split(x, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok || !strings.EqualFold(k, "for") {
					continue
				}
				v = strings.Trim(v, `"`)
				// RFC 7239: IPv6 is bracketed, and a port may follow.
				if host, _, err := net.SplitHostPort(v); err == nil {
					v = host
				}
				out = append(out, strings.Trim(v, "[]"))
			}
		}
	}
	return out
}

// clientKey is the rate limiters' key for a client: its IPv4 address, or
// the /64 of its IPv6 address, which one subscriber usually holds whole
// (so rotating addresses inside it gains nothing).
func clientKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// clientIP is the client's address as text, for sign-off evidence and logs.
func (s *Server) clientIP(r *http.Request) string {
	a := s.clientAddr(r)
	if !a.IsValid() {
		return r.RemoteAddr
	}
	return a.String()
}
