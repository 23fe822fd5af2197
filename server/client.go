package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"dealflow/clientlink"
	"dealflow/deal"
)

// The client's sign-off page is the worker's one public surface (routes.go,
// authClientLink): anyone holding a link reaches it without the dashboard
// token. Off (404) without CLIENT_LINK_SECRET. It shows the deal's
// name, the ticket and the deliverable approved internally, and nothing
// else of the deal (no margin, no people's ids, no other deal).

//go:embed client/*
var clientFS embed.FS

var clientTemplate = template.Must(template.New("client.html").Funcs(pageFuncs).ParseFS(clientFS, "client/client.html"))

// Default rate limits of the public pages: a client reads and submits a
// handful of times; a guesser or a flood hits the wall within a minute.
var (
	DefaultClientIPLimit    = RateLimit{PerMinute: 30, Burst: 30}
	DefaultClientTokenLimit = RateLimit{PerMinute: 10, Burst: 10}
)

const (
	csrfCookie = "dealflow_csrf"
	maxForm    = 64 << 10
)

// clientHeaders make the public page safe to be public, on top of every
// page's CSP (securityHeaders): no framing, no caching (the page holds a
// CSRF value and a decision), and no Referer, since the URL is the token.
func clientHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func serveClientCSS(w http.ResponseWriter, _ *http.Request) {
	b, _ := clientFS.ReadFile("client/client.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(b)
}

// linkKey is the per-link rate limiter's key: the path's token, cut at a
// token's length so a flood of long junk cannot grow the limiter's keys.
func linkKey(r *http.Request) string {
	tok := r.PathValue("token")
	if len(tok) > clientlink.TokenLen {
		tok = tok[:clientlink.TokenLen]
	}
	return tok
}

type clientView struct {
	Problem *clientProblem
	Form    *clientForm
	Done    *clientDone
}

type clientProblem struct{ Title, Text string }

type clientForm struct {
	Deal, Ticket string
	Deliverable  deal.Deliverable
	Expires      time.Time
	CSRF         string
	// Values and Error are a submission sent back to be corrected.
	Name, Email, Decision, Note, Error string
}

type clientDone struct{ Name, Ticket, Deal, What string }

// problems is what the client reads for a link that does not work; each
// says what to do next.
func problemOf(err error) (int, *clientProblem) {
	ask := " Ask the person who sent it to you for a new link."
	switch {
	case errors.Is(err, clientlink.ErrExpired):
		return http.StatusGone, &clientProblem{"This link has expired", "Links for a sign-off work for a limited time, and this one is over." + ask}
	case errors.Is(err, clientlink.ErrUsed):
		return http.StatusGone, &clientProblem{"This link was already used", "A link records one decision, and this one has been recorded. To change it, ask the person who sent it to you for a new link."}
	case errors.Is(err, clientlink.ErrRevoked):
		return http.StatusGone, &clientProblem{"This link was withdrawn", "The person who sent it withdrew it." + ask}
	case errors.Is(err, clientlink.ErrChanged):
		return http.StatusGone, &clientProblem{"The document changed", "What this link showed has been changed or is no longer waiting for your sign-off, so the link no longer works." + ask}
	case errors.Is(err, clientlink.ErrNotNeeded):
		return http.StatusGone, &clientProblem{"No sign-off needed", "This step does not need your sign-off, so this link cannot record one. If you think it should, ask the person who sent it to you for a new link."}
	}
	return http.StatusNotFound, &clientProblem{"This link is not valid", "The link is incomplete or was changed. Copy the whole link from the message you received; if it still does not work, ask the person who sent it to you for a new link."}
}

// clientPage shows the deliverable and the form, and gives the browser the
// cookie the form's CSRF value is bound to.
func (s *Server) clientPage(w http.ResponseWriter, r *http.Request) {
	o, err := s.links.Open(r.Context(), r.PathValue("token"))
	if err != nil {
		s.clientFailure(w, "opening a client link", err)
		return
	}
	cookie := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		cookie = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		cookie = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: cookie, Path: "/client/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || strings.HasPrefix(s.cfg.BaseURL, "https:")})
	}
	s.clientRender(w, http.StatusOK, clientView{Form: s.formOf(o, cookie)})
}

func (s *Server) formOf(o *clientlink.Opened, cookie string) *clientForm {
	return &clientForm{Deal: o.Client + " / " + o.Workstream, Ticket: o.Link.TicketID, Deliverable: o.Deliverable,
		Expires: o.Link.ExpiresAt, CSRF: s.links.CSRF(cookie, o.Link.LinkID), Decision: "approve"}
}

// clientSubmit records the client's decision: the link must still open,
// the CSRF value match the browser's cookie, and the form be complete.
// Only then does the deal get the sign-off, and decide.
func (s *Server) clientSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.clientRender(w, http.StatusBadRequest, clientView{Problem: &clientProblem{"The form could not be read", "Open the link again and send the form once more."}})
		return
	}
	o, err := s.links.Open(r.Context(), r.PathValue("token"))
	if err != nil {
		s.clientFailure(w, "opening a client link", err)
		return
	}
	cookie := ""
	if c, err := r.Cookie(csrfCookie); err == nil {
		cookie = c.Value
	}
	if !s.links.CheckCSRF(cookie, o.Link.LinkID, r.PostForm.Get("csrf")) {
		s.clientRender(w, http.StatusForbidden, clientView{Problem: &clientProblem{"The form was not sent from this page",
			"Nothing was recorded. Open the link again in your browser and send the form from there."}})
		return
	}
	f := s.formOf(o, cookie)
	f.Name, f.Email = strings.TrimSpace(r.PostForm.Get("name")), strings.TrimSpace(r.PostForm.Get("email"))
	f.Decision, f.Note = r.PostForm.Get("decision"), strings.TrimSpace(r.PostForm.Get("note"))
	switch {
	// The same field rules the deal applies, so what the page takes the
	// deal takes.
	case f.Name == "" || deal.CheckValue("signoff.client.name", f.Name) != nil:
		f.Error = "Please give your name (at most 200 characters, on one line)."
	case !deal.ValidEmail(f.Email) || deal.CheckValue("signoff.client.email", f.Email) != nil:
		f.Error = "Please give your email address, such as jane@example.com."
	case f.Decision != "approve" && f.Decision != "changes_requested":
		f.Decision, f.Error = "approve", "Please choose to approve or to request changes."
	case f.Decision == "changes_requested" && f.Note == "":
		f.Error = "Please say in the note what should change."
	case deal.CheckValue("signoff.note", f.Note) != nil:
		f.Error = "The note is too long or holds a control character: at most 4,000 characters of text."
	}
	if f.Error != "" {
		s.clientRender(w, http.StatusBadRequest, clientView{Form: f})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	res, err := s.links.Decide(ctx, s.Client, o, clientlink.Decision{Name: f.Name, Email: f.Email, Decision: f.Decision, Note: f.Note,
		Evidence: s.links.Evidence(s.clientIP(r), r.UserAgent())})
	switch {
	case errors.Is(err, clientlink.ErrUsed), errors.Is(err, clientlink.ErrRevoked), errors.Is(err, clientlink.ErrExpired):
		// Used, revoked or expired between the page and the form.
		s.clientFailure(w, "", err)
		return
	case err != nil:
		s.log.Error("client link: the decision did not reach the deal", "deal", o.Link.DealID, "link", o.Link.LinkID, "error", err)
		s.clientRender(w, http.StatusServiceUnavailable, clientView{Problem: &clientProblem{"Not recorded yet",
			"We could not record your decision just now. Please open the link again in a few minutes and send it again; it is recorded once."}})
		return
	case res.Status == deal.Refused:
		s.log.Info("client link: the deal refused the client's decision", "deal", o.Link.DealID, "link", o.Link.LinkID, "reason", res.Reason)
		s.clientRender(w, http.StatusConflict, clientView{Problem: &clientProblem{"Not recorded",
			"This decision could not be recorded: the document is no longer waiting for it. Ask the person who sent you the link for a new one."}})
		return
	}
	s.log.Info("client link: the client decided", "deal", o.Link.DealID, "ticket", o.Link.TicketID, "link", o.Link.LinkID, "decision", f.Decision)
	what := "approval"
	if f.Decision != "approve" {
		what = "request for changes"
	}
	s.clientRender(w, http.StatusOK, clientView{Done: &clientDone{Name: f.Name, Ticket: o.Link.TicketID, Deal: f.Deal, What: what}})
}

// clientFailure shows a link's problem; an error that is not a link's
// (PostgreSQL down) is logged and shown as a temporary failure.
func (s *Server) clientFailure(w http.ResponseWriter, what string, err error) {
	code, p := problemOf(err)
	if code == http.StatusNotFound && !errors.Is(err, clientlink.ErrTampered) {
		s.log.Error("client link: "+what, "error", err)
		code, p = http.StatusServiceUnavailable, &clientProblem{"Please try again later", "The page could not be shown just now; nothing was recorded."}
	}
	s.clientRender(w, code, clientView{Problem: p})
}

func (s *Server) clientRender(w http.ResponseWriter, code int, v clientView) {
	var buf bytes.Buffer
	if err := clientTemplate.Execute(&buf, v); err != nil {
		s.log.Error("client link: rendering", "error", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}
