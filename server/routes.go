package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"dealflow/metrics"
)

// Every HTTP route of the worker is a row of routeTable, with what
// authenticates it and how it is rate limited; mount registers the rows
// and nothing else registers a handler (TestRoutesOnlyFromTheTable reads
// the package's source to hold that). A route that reads deal data or
// changes anything is authPeople, authFinance, authSlack, authHubSpot or
// authClientLink; authNone is for what carries no data (liveness, the
// stylesheets), authOps for what only the operations listener serves open.

type authKind int

const (
	// authNone: anyone; the route holds no deal data and changes nothing.
	authNone authKind = iota
	// authPeople: a person named by a trusted proxy, the dashboard token
	// (bearer or basic auth's password), or the session the sign-in link
	// opened. Recorded as that person, or as the token.
	authPeople
	// authFinance: the finance token as a bearer token.
	authFinance
	// authSlack: Slack's request signature, checked by the handler over
	// the raw body.
	authSlack
	// authHubSpot: HubSpot's v3 signature under HUBSPOT_CLIENT_SECRET,
	// checked by the handler over the raw body and the signed URI.
	authHubSpot
	// authClientLink: the signed link in the path, checked by the handler;
	// the client's one public surface.
	authClientLink
	// authOps: open on the internal METRICS_ADDR listener; on HTTP_ADDR
	// (no METRICS_ADDR) it is authPeople.
	authOps
)

func (a authKind) String() string {
	return [...]string{"none", "people", "finance", "slack", "hubspot", "client link", "ops"}[a]
}

// limitKind names a route's rate limit, per client (an IPv4 address or an
// IPv6 /64, from a trusted proxy's X-Forwarded-For).
type limitKind int

const (
	limitNone limitKind = iota
	limitPages
	limitFinance
	// limitClient: per client and per link token (the path's {token}).
	limitClient
)

type route struct {
	pattern string
	auth    authKind
	limit   limitKind
	// changes: the route changes state; a browser's request must then come
	// from this site (Origin).
	changes bool
	// signIn: the sign-in link's code (?code=) is a credential here.
	signIn bool
	// on says whether the route exists under this configuration; nil: always.
	on      func(*Server) bool
	handler func(*Server) http.Handler
}

func linksOn(s *Server) bool   { return s.links != nil }
func financeOn(s *Server) bool { return s.cfg.FinanceToken != "" }
func hubspotOn(s *Server) bool { return s.hubspot != nil }

func hf(f func(*Server, http.ResponseWriter, *http.Request)) func(*Server) http.Handler {
	return func(s *Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(s, w, r) })
	}
}

// routeTable is every route, on either listener.
var routeTable = []route{
	{pattern: "GET /healthz", auth: authNone, handler: hf((*Server).liveness)},
	{pattern: "GET /readyz", auth: authOps, handler: hf((*Server).readiness)},
	{pattern: "GET /metrics", auth: authOps, handler: func(*Server) http.Handler { return metrics.Handler() }},
	{pattern: "GET /static/pages.css", auth: authNone, handler: func(*Server) http.Handler { return http.HandlerFunc(servePagesCSS) }},

	{pattern: "GET /signin", auth: authPeople, limit: limitPages, signIn: true, handler: hf((*Server).signIn)},
	{pattern: "GET /{$}", auth: authPeople, limit: limitPages, handler: func(*Server) http.Handler { return http.RedirectHandler("/deals", http.StatusSeeOther) }},
	{pattern: "GET /deals", auth: authPeople, limit: limitPages, handler: hf((*Server).dealsPage)},
	{pattern: "GET /deals/{deal_id}", auth: authPeople, limit: limitPages, handler: hf((*Server).dealPage)},
	{pattern: "GET /reports/handover", auth: authPeople, limit: limitPages, handler: hf((*Server).reportPage)},
	{pattern: "POST /deals/{deal_id}/tickets/{ticket}/client-links", auth: authPeople, limit: limitPages, changes: true, on: linksOn, handler: hf((*Server).issueLinkPage)},
	{pattern: "POST /deals/{deal_id}/questions", auth: authPeople, limit: limitPages, changes: true, handler: hf((*Server).askPage)},
	{pattern: "POST /deals/{deal_id}/questions/{question_id}/answer", auth: authPeople, limit: limitPages, changes: true, handler: hf((*Server).answerPage)},
	{pattern: "POST /deals/{deal_id}/client-links/{link_id}/revoke", auth: authPeople, limit: limitPages, changes: true, on: linksOn, handler: hf((*Server).revokeLinkPage)},

	{pattern: "POST /api/invoices", auth: authFinance, limit: limitFinance, changes: true, on: financeOn, handler: func(s *Server) http.Handler { return s.intake(jsonRows) }},
	{pattern: "POST /api/invoices.csv", auth: authFinance, limit: limitFinance, changes: true, on: financeOn, handler: func(s *Server) http.Handler { return s.intake(csvRows) }},
	{pattern: "GET /api/invoices/jobs/{id}", auth: authFinance, limit: limitFinance, on: financeOn, handler: hf((*Server).intakeJob)},

	{pattern: "POST /slack/interactions", auth: authSlack, changes: true, handler: func(s *Server) http.Handler { return http.HandlerFunc(s.slackApp().serveInteractions) }},
	{pattern: "POST /hubspot/webhook", auth: authHubSpot, changes: true, on: hubspotOn, handler: (*Server).hubspotWebhook},

	{pattern: "GET /client/style.css", auth: authNone, on: linksOn, handler: func(*Server) http.Handler { return clientHeaders(http.HandlerFunc(serveClientCSS)) }},
	{pattern: "GET /client/{token}", auth: authClientLink, limit: limitClient, on: linksOn, handler: func(s *Server) http.Handler { return clientHeaders(http.HandlerFunc(s.clientPage)) }},
	// Cross-origin POSTs are refused by the browser's own headers too
	// (Sec-Fetch-Site, Origin), besides the form's CSRF token.
	{pattern: "POST /client/{token}", auth: authClientLink, limit: limitClient, changes: true, on: linksOn, handler: func(s *Server) http.Handler {
		return clientHeaders(http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.clientSubmit)))
	}},
}

// publicHandler serves HTTP_ADDR; opsHandler METRICS_ADDR (nil without it).
func (s *Server) publicHandler() http.Handler {
	return securityHeaders(s.checkHost(s.mount(false)))
}

func (s *Server) opsHandler() http.Handler {
	if s.cfg.MetricsAddr == "" {
		return nil
	}
	return securityHeaders(s.mount(true))
}

// mount registers the table's routes for one listener: the ops listener
// takes only authOps routes, open; HTTP_ADDR the rest, and the authOps ones
// behind the people's credentials when there is no ops listener.
func (s *Server) mount(ops bool) *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routeTable {
		if rt.on != nil && !rt.on(s) {
			continue
		}
		switch {
		case ops && rt.auth != authOps:
			continue
		case ops:
			rt.auth = authNone
		case rt.auth == authOps && s.cfg.MetricsAddr != "":
			continue
		case rt.auth == authOps:
			rt.auth = authPeople
		}
		mux.Handle(rt.pattern, s.guard(rt, rt.handler(s)))
	}
	return mux
}

// actor is who a request acts for: a person a trusted proxy named, or the
// dashboard token (scripts, and the session of the sign-in link).
type actor struct{ person string }

type actorKey struct{}

// String is how the record names the actor.
func (a actor) String() string {
	if a.person != "" {
		return a.person
	}
	return "dashboard token"
}

// actorOf is who the request acts for; only authPeople routes have one.
func actorOf(r *http.Request) actor {
	a, _ := r.Context().Value(actorKey{}).(actor)
	return a
}

const sessionCookie = "dealflow_session"

// guard wraps one route: its rate limit, the throttle on failed
// authentication, the credential, the Origin of a browser's change, and
// the cache policy of what it answers.
func (s *Server) guard(rt route, h http.Handler) http.Handler {
	var peopleWant, financeWant secretCheck
	if s.cfg.DashboardToken != "" {
		peopleWant = newSecretCheck(s.cfg.DashboardToken)
	}
	if s.cfg.FinanceToken != "" {
		financeWant = newSecretCheck(s.cfg.FinanceToken)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		key := clientKey(s.clientAddr(r))
		if !s.allowed(rt.limit, key, r, now) {
			s.tooMany(w, rt)
			return
		}
		switch rt.auth {
		case authPeople, authFinance:
			w.Header().Set("Cache-Control", "no-store")
			if s.authFail.exhausted(key, now) {
				s.tooMany(w, rt)
				return
			}
			var a actor
			var how credential
			if rt.auth == authPeople {
				a, how = s.people(r, peopleWant)
				if how == credNone && rt.signIn && s.signInCode(r) {
					how = credBrowser
				}
			} else {
				how = bearerOnly(r, financeWant, s.cfg.FinanceToken != "")
			}
			if how == credNone {
				s.authFail.allow(key, now)
				s.unauthorized(w, rt)
				return
			}
			if rt.changes && !sameOrigin(r, s.cfg.BaseURL, how) {
				http.Error(w, "403 forbidden: a change must come from this site's own pages (Origin), or from a script with a bearer token", http.StatusForbidden)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), actorKey{}, a))
		}
		h.ServeHTTP(w, r)
	})
}

// credential is how a request authenticated.
type credential int

const (
	credNone credential = iota
	credBearer
	// credBrowser: what a browser sends on its own (basic auth, the
	// session cookie, a proxy's sign-in), so a change needs its Origin.
	credBrowser
)

// people authenticates a request to the pages: a trusted proxy's person
// first, then the dashboard token, then the session cookie.
func (s *Server) people(r *http.Request, want secretCheck) (actor, credential) {
	if s.trusted(peerAddr(r)) {
		if p := r.Header.Get(s.identityHeader()); validPerson(p) {
			return actor{person: p}, credBrowser
		}
	}
	if s.cfg.DashboardToken == "" {
		return actor{}, credNone
	}
	if c, ok := parseAuthorization(r.Header.Get("Authorization")); ok && want.matches(c.secret) {
		if c.scheme == "bearer" {
			return actor{}, credBearer
		}
		return actor{}, credBrowser
	}
	if c, err := r.Cookie(sessionCookie); err == nil && hmac.Equal([]byte(c.Value), []byte(derive(s.cfg.DashboardToken, "session"))) {
		return actor{}, credBrowser
	}
	return actor{}, credNone
}

func bearerOnly(r *http.Request, want secretCheck, on bool) credential {
	c, ok := parseAuthorization(r.Header.Get("Authorization"))
	if on && ok && c.scheme == "bearer" && want.matches(c.secret) {
		return credBearer
	}
	return credNone
}

func (s *Server) identityHeader() string {
	if s.cfg.IdentityHeader != "" {
		return s.cfg.IdentityHeader
	}
	return DefaultIdentityHeader
}

// validPerson takes a name a proxy sets (an email, a user name): printable,
// no spaces, at most 254 bytes.
func validPerson(p string) bool {
	if p == "" || len(p) > 254 {
		return false
	}
	for _, r := range p {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// sameOrigin lets a change through when the browser says it comes from
// this site: its Origin is the host it asked (or DEALFLOW_BASE_URL's). A
// request with no Origin is a script's, taken only with a bearer token,
// which no browser sends on its own.
func sameOrigin(r *http.Request, baseURL string, how credential) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		site := r.Header.Get("Sec-Fetch-Site")
		return how == credBearer && (site == "" || site == "same-origin" || site == "none")
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	b, err := url.Parse(baseURL)
	return baseURL != "" && err == nil && strings.EqualFold(u.Host, b.Host) && u.Scheme == b.Scheme
}

// derive is a value only the holder of secret can make, for purpose: the
// session cookie and the sign-in code are derived from the dashboard token
// and never hold it.
func derive(secret, purpose string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("dealflow-dashboard-v1\x00" + purpose))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SignInPath is the sign-in link `make dev` prints: opening it sets the
// session cookie. It carries a code derived from the token, not the token.
func SignInPath(dashboardToken string) string {
	return "/signin?code=" + derive(dashboardToken, "signin")
}

// signIn sets the session cookie for whoever opened the sign-in link (or
// came with another credential) and sends them to the deals.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	if s.cfg.DashboardToken == "" {
		// Signed in by the proxy, which signs every request in: no session.
		http.Redirect(w, r, "/deals", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: derive(s.cfg.DashboardToken, "session"), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(s.cfg.BaseURL, "https:")})
	http.Redirect(w, r, "/deals", http.StatusSeeOther)
}

// signInCode is the people's credential of /signin: the code in its query.
func (s *Server) signInCode(r *http.Request) bool {
	code := r.URL.Query().Get("code")
	return s.cfg.DashboardToken != "" && code != "" && hmac.Equal([]byte(code), []byte(derive(s.cfg.DashboardToken, "signin")))
}

func (s *Server) allowed(l limitKind, key string, r *http.Request, now time.Time) bool {
	switch l {
	case limitPages:
		return s.pageLimit.allow(key, now)
	case limitFinance:
		return s.financeLimit.allow(key, now)
	case limitClient:
		return s.ipLimit.allow(key, now) && s.tokenLimit.allow(linkKey(r), now)
	}
	return true
}

func (s *Server) tooMany(w http.ResponseWriter, rt route) {
	w.Header().Set("Retry-After", "60")
	if rt.auth == authClientLink {
		s.clientRender(w, http.StatusTooManyRequests, clientView{Problem: &clientProblem{
			Title: "Too many requests", Text: "This page was asked for too often. Wait a minute and open the link again."}})
		return
	}
	http.Error(w, "429 too many requests: wait a minute", http.StatusTooManyRequests)
}

func (s *Server) unauthorized(w http.ResponseWriter, rt route) {
	if rt.auth == authFinance {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dealflow finance intake"`)
		intakeError(w, http.StatusUnauthorized, "missing or wrong bearer token (Authorization: Bearer $FINANCE_API_TOKEN)")
		return
	}
	if s.cfg.DashboardToken == "" && len(s.cfg.TrustedProxies) == 0 {
		http.Error(w, "401 unauthorized: this worker has no credential for the deal pages; set DASHBOARD_TOKEN or TRUSTED_PROXIES", http.StatusUnauthorized)
		return
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="dealflow", charset="UTF-8"`)
	http.Error(w, "401 unauthorized: sign in through your SSO, or send DASHBOARD_TOKEN as a bearer token or the basic-auth password", http.StatusUnauthorized)
}

// checkHost answers only requests naming a host this worker is reached
// at: loopback, the listen address, or DEALFLOW_BASE_URL's. A page of
// another site whose name resolves to this worker (DNS rebinding) names
// its own host and is refused.
func (s *Server) checkHost(h http.Handler) http.Handler {
	allowed := map[string]bool{}
	if u, err := url.Parse(s.cfg.BaseURL); err == nil && u.Hostname() != "" {
		allowed[strings.ToLower(u.Hostname())] = true
	}
	if host, _, err := net.SplitHostPort(s.cfg.HTTPAddr); err == nil && host != "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			allowed[strings.ToLower(host)] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.Trim(host, "[]"))
		if !allowed[host] && !isLoopbackHost(host) {
			http.Error(w, "421 misdirected request: this worker answers at DEALFLOW_BASE_URL's host and on loopback", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
