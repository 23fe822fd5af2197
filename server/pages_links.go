package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"dealflow/clientlink"
	"dealflow/db"
	"dealflow/db/dbq"
)

// The deal page's part of client links: a person (or a script with the
// dashboard token) issues a link for a ticket waiting on the client, sees
// every link of the deal and revokes one. Each action is recorded in the
// name routes.go authenticated (actorOf).

// linkView is one client link as the deal page lists it.
type linkView struct {
	ID, Ticket, CreatedBy, RevokedBy, State, Decision string
	CreatedAt, ExpiresAt                              time.Time
}

func linkViews(rows []dbq.ClientLink, now time.Time) map[string][]linkView {
	out := map[string][]linkView{}
	for _, r := range rows {
		out[r.TicketID] = append(out[r.TicketID], linkView{ID: r.LinkID, Ticket: r.TicketID, CreatedBy: r.CreatedBy, RevokedBy: r.RevokedBy,
			State: clientlink.State(r, now), Decision: r.Decision, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt})
	}
	return out
}

func usedLinks(rows []dbq.ClientLink) map[string]bool {
	used := map[string]bool{}
	for _, r := range rows {
		if r.UsedAt != nil {
			used[r.LinkID] = true
		}
	}
	return used
}

type issuedView struct {
	DealID, Ticket, URL string
	ExpiresAt           time.Time
}

func (s *Server) issueLinkPage(w http.ResponseWriter, r *http.Request) {
	id, okID := pathID(r, "deal_id")
	ticket, okTicket := pathID(r, "ticket")
	if !okID || !okTicket {
		s.noSuchDeal(w)
		return
	}
	if !s.mayChangeLinks(w, r, id, ticket, false) {
		return
	}
	by := actorOf(r).String()
	l, err := s.links.Issue(r.Context(), id, ticket, by)
	switch {
	case errors.Is(err, db.ErrNotFound):
		s.errorPage(w, http.StatusNotFound, fmt.Sprintf("no deal %q in the record", id))
		return
	case errors.Is(err, clientlink.ErrNotNeeded), errors.Is(err, clientlink.ErrNotReady):
		s.errorPage(w, http.StatusConflict, fmt.Sprintf("no link issued for %s: %s", ticket, err))
		return
	case errors.Is(err, clientlink.ErrNoTicket):
		s.errorPage(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		s.serverError(w, "issuing a client link", err)
		return
	}
	s.log.Info("client link issued", "deal", id, "ticket", ticket, "link", l.ID, "by", by)
	s.render(w, "link", nil, issuedView{DealID: id, Ticket: ticket, URL: s.linkURL(r, l), ExpiresAt: l.ExpiresAt})
}

// linkURL is where the client opens the link: under DEALFLOW_BASE_URL,
// which the worker refuses to start without while links are on.
func (s *Server) linkURL(_ *http.Request, l clientlink.Link) string {
	return l.URL(s.cfg.BaseURL)
}

func (s *Server) revokeLinkPage(w http.ResponseWriter, r *http.Request) {
	id, okID := pathID(r, "deal_id")
	link, okLink := pathID(r, "link_id")
	if !okID || !okLink {
		s.noSuchDeal(w)
		return
	}
	// A link of this deal needs its role; no such link revokes nothing
	// below, whoever asks.
	if row, err := s.Store.Queries().GetClientLink(r.Context(), link); err == nil && row.DealID == id && !s.mayChangeLinks(w, r, id, row.TicketID, true) {
		return
	}
	by := actorOf(r).String()
	ok, err := s.links.Revoke(r.Context(), id, link, by)
	if err != nil {
		s.serverError(w, "revoking a client link", err)
		return
	}
	if !ok {
		// Nothing revoked: 404 when the deal itself is missing, like
		// every other path naming a deal.
		if _, err := s.Store.Queries().DealVersion(r.Context(), id); errors.Is(err, pgx.ErrNoRows) {
			s.errorPage(w, http.StatusNotFound, fmt.Sprintf("no deal %q in the record", id))
			return
		}
		s.errorPage(w, http.StatusConflict, fmt.Sprintf("deal %s has no live link %s: it was used, revoked already, or never issued", id, link))
		return
	}
	s.log.Info("client link revoked", "deal", id, "link", link, "by", by)
	http.Redirect(w, r, dealPath(id)+"#client-links", http.StatusSeeOther)
}
