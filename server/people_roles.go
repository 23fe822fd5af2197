package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/slack-go/slack"
)

// A person signed in by the SSO proxy is known by their email; the deal
// knows people by Slack user id. Where a rule needs a role (the ticket's
// owner, the deal's AE, PM or GM), the email is mapped to the Slack user
// with users.lookupByEmail (scope users:read.email), cached so a page
// costs Slack at most one call a person an hour. A script with the
// dashboard token is not mapped: the record names it as the token.

var (
	errNoSlack    = errors.New("people are matched to their Slack user, and SLACK_BOT_TOKEN is not set; ask someone with the dashboard token, or set it (scope users:read.email)")
	errNotInSlack = errors.New("no Slack user of this workspace has your email address")
)

const (
	peopleHit  = time.Hour
	peopleMiss = 5 * time.Minute
	// peopleMax bounds the cache; past it the cache starts over (it only
	// costs a lookup each).
	peopleMax = 10000
)

type slackPerson struct {
	id      string
	err     error
	expires time.Time
}

type slackPeople struct {
	mu      sync.Mutex
	byEmail map[string]slackPerson
}

// slackUserOf is the Slack user id of the person signed in with email.
func (s *Server) slackUserOf(ctx context.Context, email string) (string, error) {
	if s.cfg.Slack.BotToken == "" {
		return "", errNoSlack
	}
	now := time.Now()
	s.slackUsers.mu.Lock()
	p, ok := s.slackUsers.byEmail[email]
	s.slackUsers.mu.Unlock()
	if ok && now.Before(p.expires) {
		return p.id, p.err
	}
	u, err := s.slackApp().api.GetUserByEmailContext(ctx, email)
	var serr slack.SlackErrorResponse
	switch {
	case errors.As(err, &serr) && (serr.Err == "users_not_found" || serr.Err == "user_not_found"):
		p = slackPerson{err: errNotInSlack, expires: now.Add(peopleMiss)}
	case err != nil:
		// Slack down or rate limiting: not cached, nothing decided.
		return "", fmt.Errorf("Slack did not say who you are (%v); try again in a minute", err)
	default:
		p = slackPerson{id: u.ID, expires: now.Add(peopleHit)}
	}
	s.slackUsers.mu.Lock()
	if s.slackUsers.byEmail == nil || len(s.slackUsers.byEmail) >= peopleMax {
		s.slackUsers.byEmail = map[string]slackPerson{}
	}
	s.slackUsers.byEmail[email] = p
	s.slackUsers.mu.Unlock()
	return p.id, p.err
}

// mayChangeLinks lets a request act on a ticket's client links: a script
// with the token always (recorded as the token), a person only when their
// Slack user is the ticket's owner, or, to revoke, the deal's AE, PM or
// GM. Otherwise it answers 403 (or 404 for no such deal) and says no.
func (s *Server) mayChangeLinks(w http.ResponseWriter, r *http.Request, dealID, ticketID string, revoke bool) bool {
	a := actorOf(r)
	if a.person == "" {
		return true
	}
	q := s.Store.Queries()
	d, err := q.GetDeal(r.Context(), dealID)
	if errors.Is(err, pgx.ErrNoRows) {
		s.errorPage(w, http.StatusNotFound, fmt.Sprintf("no deal %q in the record", dealID))
		return false
	}
	if err != nil {
		s.serverError(w, "reading deal "+dealID, err)
		return false
	}
	allowed := []string{}
	if t, err := s.Store.LoadTicket(r.Context(), dealID, ticketID, 0); err == nil {
		allowed = append(allowed, t.Owner)
	}
	what := "issues its client links"
	if revoke {
		allowed = append(allowed, d.Ae, d.Pm, d.Gm)
		what = "revokes its client links (or the deal's AE, PM or GM)"
	}
	user, err := s.slackUserOf(r.Context(), a.person)
	if err != nil {
		s.errorPage(w, http.StatusForbidden, err.Error())
		return false
	}
	if !slices.Contains(allowed, user) {
		s.errorPage(w, http.StatusForbidden, fmt.Sprintf("you are %s in Slack; only the %s ticket's owner %s", user, ticketID, what))
		return false
	}
	return true
}
