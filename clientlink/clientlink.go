// Package clientlink is the client's sign-off in person: an expiring link
// the ticket's owner sends the client, signed with CLIENT_LINK_SECRET and
// bound to the deal, the ticket and the exact deliverable approved
// internally. Links are rows in PostgreSQL (client_links); the token is
// base64url(link id ‖ HMAC-SHA256(secret, what the row binds)), so a
// token cannot be forged or moved to another ticket, and a row edited
// behind the token's back no longer verifies. Issuing and revoking are
// PostgreSQL only; the decision goes to the deal as a `signoff` with
// side client through workflows.Send, so the deal's rules decide.
package clientlink

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"dealflow/db"
	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/workflows"
)

// What a link can be besides good. Each is shown to the client as a page
// saying what to do: ask the owner for a new link.
var (
	ErrOff       = errors.New("client links are off: CLIENT_LINK_SECRET is not set")
	ErrTampered  = errors.New("this link is not valid")
	ErrExpired   = errors.New("this link has expired")
	ErrUsed      = errors.New("this link was already used")
	ErrRevoked   = errors.New("this link was revoked")
	ErrChanged   = errors.New("the deliverable changed since this link was issued")
	ErrNotNeeded = errors.New("this ticket takes no client sign-off")
	ErrNoTicket  = errors.New("no such ticket")
	ErrNotReady  = errors.New("the ticket is not waiting for the client's sign-off: it needs the internal approval first, and must be open")
)

const (
	idLen  = 16
	macLen = sha256.Size
	// TokenLen is the length of a token as text: 48 bytes in base64url.
	TokenLen = (idLen + macLen) * 4 / 3
)

// Links issues, opens, decides and revokes client links.
type Links struct {
	Secret []byte
	Store  *db.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (l *Links) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

// Link is one issued link with its token.
type Link struct {
	ID        string    `json:"link_id"`
	DealID    string    `json:"deal_id"`
	TicketID  string    `json:"ticket_id"`
	ExpiresAt time.Time `json:"expires_at"`
	Token     string    `json:"token"`
}

// Path is where the link opens on the worker; prefix it with
// DEALFLOW_BASE_URL for the client.
func (k Link) Path() string { return "/client/" + k.Token }

// URL is the link's address for the client, under base
// (DEALFLOW_BASE_URL, which the worker and the starter require while links
// are on: a link built from a request's Host header could point anywhere).
func (k Link) URL(base string) string {
	return strings.TrimRight(base, "/") + k.Path()
}

// CheckBaseURL refuses an address links cannot be sent under: none, or
// plain http beyond loopback (the link is the client's credential, and
// would cross the network readable). The worker and the starter both ask.
func CheckBaseURL(base string) error {
	if base == "" {
		return errors.New("client links are on (CLIENT_LINK_SECRET) but DEALFLOW_BASE_URL is not set: set it to the https:// address clients reach")
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("DEALFLOW_BASE_URL %q is not an address such as https://dealflow.example.com", base)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()))) {
		return fmt.Errorf("client links need an https:// DEALFLOW_BASE_URL, not %s: the link is the client's credential", u.Scheme+"://"+u.Host)
	}
	return nil
}

// Digest names a deliverable exactly (the full SHA-256 of its JSON): the
// link is bound to it, so any edit ends the link.
func Digest(d deal.Deliverable) string {
	b, _ := json.Marshal(d)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Evidence is what the record keeps of where a decision came from: a keyed
// hash of the client's IP address and user agent. Keyed, because an
// unkeyed hash of an IPv4 address is reversed by trying them all; whoever
// holds the secret can still check a given address against it.
func (l *Links) Evidence(ip, userAgent string) string {
	return hex.EncodeToString(l.mac("evidence", ip, userAgent))
}

// mac is HMAC-SHA256 over a purpose and fields separated by NUL, which no
// signal text may hold (deal's checkText), so fields cannot run together.
func (l *Links) mac(purpose string, fields ...string) []byte {
	m := hmac.New(sha256.New, l.Secret)
	m.Write([]byte("dealflow-client-link-v1\x00" + purpose))
	for _, f := range fields {
		m.Write([]byte{0})
		m.Write([]byte(f))
	}
	return m.Sum(nil)
}

// Sign is the MAC a link's token carries: link id, deal, ticket, the
// deliverable's digest and the expiry (whole seconds, as stored).
func (l *Links) sign(id []byte, r dbq.ClientLink) []byte {
	return l.mac("token", hex.EncodeToString(id), r.DealID, r.TicketID, r.DeliverableDigest, strconv.FormatInt(r.ExpiresAt.Unix(), 10))
}

// CSRF is the form's anti-forgery value for a browser's cookie and a link:
// the signed double-submit pattern, so the server keeps no session.
func (l *Links) CSRF(cookie, linkID string) string {
	return base64.RawURLEncoding.EncodeToString(l.mac("csrf", cookie, linkID))
}

// CheckCSRF compares in constant time.
func (l *Links) CheckCSRF(cookie, linkID, presented string) bool {
	if cookie == "" || presented == "" {
		return false
	}
	return hmac.Equal([]byte(l.CSRF(cookie, linkID)), []byte(presented))
}

// Issue makes a link for a ticket that waits for the client's sign-off,
// bound to the deliverable approved internally as PostgreSQL holds it now.
func (l *Links) Issue(ctx context.Context, dealID, ticketID, by string) (Link, error) {
	if len(l.Secret) == 0 {
		return Link{}, ErrOff
	}
	q := l.Store.Queries()
	d, err := q.GetDeal(ctx, dealID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Link{}, fmt.Errorf("%w: %s", db.ErrNotFound, dealID)
	}
	if err != nil {
		return Link{}, err
	}
	t, err := q.GetTicket(ctx, dbq.GetTicketParams{DealID: dealID, TicketID: ticketID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Link{}, fmt.Errorf("%w: deal %s has no %s ticket yet", ErrNoTicket, dealID, ticketID)
	}
	if err != nil {
		return Link{}, err
	}
	if !t.ClientSignoffRequired {
		return Link{}, ErrNotNeeded
	}
	if t.Status != "open" || !t.InternalApproved || (t.DeliverableBody == "" && t.DeliverableUrl == "") {
		return Link{}, ErrNotReady
	}
	// Bound to this approval: a later one, even of the same deliverable,
	// ends the link (Open).
	approval, err := q.LatestInternalApproval(ctx, dbq.LatestInternalApprovalParams{DealID: dealID, TicketID: ticketID})
	if err != nil {
		return Link{}, err
	}
	id := make([]byte, idLen)
	if _, err := rand.Read(id); err != nil {
		return Link{}, err
	}
	now := l.now().Truncate(time.Second)
	row := dbq.ClientLink{LinkID: hex.EncodeToString(id), DealID: dealID, TicketID: ticketID,
		DeliverableDigest: Digest(deliverableOf(t)), CreatedBy: by, CreatedAt: now,
		ExpiresAt: now.Add(time.Duration(d.ClientLinkDays) * 24 * time.Hour)}
	if err := q.InsertClientLink(ctx, dbq.InsertClientLinkParams{LinkID: row.LinkID, DealID: row.DealID, TicketID: row.TicketID,
		DeliverableDigest: row.DeliverableDigest, CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt,
		ApprovalSeq: approval}); err != nil {
		return Link{}, err
	}
	return l.Link(row)
}

// Link is the link of a stored row, with its token: whoever holds the
// secret can give a row's token again (the row alone cannot).
func (l *Links) Link(row dbq.ClientLink) (Link, error) {
	id, err := hex.DecodeString(row.LinkID)
	if err != nil || len(id) != idLen {
		return Link{}, fmt.Errorf("link id %q is not %d bytes of hex", row.LinkID, idLen)
	}
	token := base64.RawURLEncoding.EncodeToString(append(id, l.sign(id, row)...))
	return Link{ID: row.LinkID, DealID: row.DealID, TicketID: row.TicketID, ExpiresAt: row.ExpiresAt, Token: token}, nil
}

func deliverableOf(t dbq.Ticket) deal.Deliverable {
	return deal.Deliverable{Kind: t.DeliverableKind, Body: t.DeliverableBody, URL: t.DeliverableUrl}
}

// Opened is a link that verified, with what its page shows.
type Opened struct {
	Link        dbq.ClientLink
	Client      string
	Workstream  string
	Owner       string
	Deliverable deal.Deliverable
}

// Open verifies a token: its MAC first (constant time), then the row
// (revoked, used, expired) and that the ticket still waits for the client
// on the same deliverable. Any token that does not verify is ErrTampered,
// whatever was wrong with it, so probing learns nothing.
func (l *Links) Open(ctx context.Context, token string) (*Opened, error) {
	if len(l.Secret) == 0 {
		return nil, ErrOff
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != idLen+macLen {
		return nil, ErrTampered
	}
	id, mac := raw[:idLen], raw[idLen:]
	q := l.Store.Queries()
	row, err := q.GetClientLink(ctx, hex.EncodeToString(id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrTampered
	}
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(mac, l.sign(id, row)) {
		return nil, ErrTampered
	}
	switch {
	case row.RevokedAt != nil:
		return nil, ErrRevoked
	case row.UsedAt != nil:
		return nil, ErrUsed
	case !l.now().Before(row.ExpiresAt):
		return nil, ErrExpired
	}
	t, err := q.GetTicket(ctx, dbq.GetTicketParams{DealID: row.DealID, TicketID: row.TicketID})
	if err != nil {
		return nil, err
	}
	if !t.ClientSignoffRequired {
		return nil, ErrNotNeeded
	}
	if t.Status != "open" || !t.InternalApproved || Digest(deliverableOf(t)) != row.DeliverableDigest {
		return nil, ErrChanged
	}
	approval, err := q.LatestInternalApproval(ctx, dbq.LatestInternalApprovalParams{DealID: row.DealID, TicketID: row.TicketID})
	if err != nil {
		return nil, err
	}
	if approval != row.ApprovalSeq {
		// Approved again since, even if identically: the link was for the
		// approval before.
		return nil, ErrChanged
	}
	d, err := q.GetDeal(ctx, row.DealID)
	if err != nil {
		return nil, err
	}
	return &Opened{Link: row, Client: d.Client, Workstream: d.Workstream, Owner: t.Owner, Deliverable: deliverableOf(t)}, nil
}

// Decision is what the client submitted.
type Decision struct {
	Name, Email, Decision, Note string
	// Evidence is Links.Evidence of the request.
	Evidence string
}

// Decide takes the link for the client's decision and then sends it to
// the deal as the owner's sign-off carrying the client, on the deliverable
// the link is bound to. Taking the link comes first, in one statement that
// checks it is still live (ClaimClientLink): a link revoked, used or
// expired by then sends nothing, and a revoke after it finds the link
// used. The sign-off id is the link's, so a decision sent twice (a retry
// after a lost answer) is one decision. If the decision does not reach the
// deal, or the deal refuses it, the link is given back.
func (l *Links) Decide(ctx context.Context, c client.Client, o *Opened, d Decision) (deal.Result, error) {
	p := deal.SignoffSignal{ID: "link-" + o.Link.LinkID, Ticket: o.Link.TicketID, By: o.Owner, Side: "client",
		Decision: d.Decision, Deliverable: &o.Deliverable, Note: d.Note,
		Client: &deal.ClientSigner{Name: d.Name, Email: d.Email, Evidence: d.Evidence, LinkID: o.Link.LinkID}}
	payload, err := json.Marshal(p)
	if err != nil {
		return deal.Result{}, err
	}
	q := l.Store.Queries()
	at := l.now()
	n, err := q.ClaimClientLink(ctx, dbq.ClaimClientLinkParams{LinkID: o.Link.LinkID, UsedAt: &at, Decision: d.Decision})
	if err != nil {
		return deal.Result{}, err
	}
	if n == 0 {
		return deal.Result{}, l.whyNot(ctx, o.Link.LinkID)
	}
	res, err := workflows.Send(ctx, c, o.Link.DealID, deal.SigSignoff, payload)
	if err != nil || res.Status == deal.Refused {
		// Given back under a context of its own: ctx may be what ended.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, rerr := q.ReleaseClientLink(rctx, dbq.ReleaseClientLinkParams{LinkID: o.Link.LinkID, UsedAt: &at}); rerr != nil && err == nil {
			err = rerr
		}
		return res, err
	}
	if res.Status == deal.Duplicate {
		return res, ErrUsed
	}
	return res, nil
}

// whyNot says why a link could not be taken: revoked, used or expired.
func (l *Links) whyNot(ctx context.Context, linkID string) error {
	row, err := l.Store.Queries().GetClientLink(ctx, linkID)
	switch {
	case err != nil:
		return err
	case row.RevokedAt != nil:
		return ErrRevoked
	case row.UsedAt != nil:
		return ErrUsed
	}
	return ErrExpired
}

func ptr[T any](v T) *T { return &v }

// Revoke ends one link of a deal; false when there was no live one.
func (l *Links) Revoke(ctx context.Context, dealID, linkID, by string) (bool, error) {
	n, err := l.Store.Queries().RevokeClientLink(ctx, dbq.RevokeClientLinkParams{LinkID: linkID, DealID: dealID, RevokedAt: ptr(l.now()), RevokedBy: by})
	return n > 0, err
}

// RevokeTicket ends every live link of a ticket and says how many.
func (l *Links) RevokeTicket(ctx context.Context, dealID, ticketID, by string) (int64, error) {
	return l.Store.Queries().RevokeTicketClientLinks(ctx, dbq.RevokeTicketClientLinksParams{DealID: dealID, TicketID: ticketID,
		RevokedAt: ptr(l.now()), RevokedBy: by})
}

// State names a link's state for the deal page: live, used, revoked or
// expired.
func State(r dbq.ClientLink, now time.Time) string {
	switch {
	case r.UsedAt != nil:
		return "used"
	case r.RevokedAt != nil:
		return "revoked"
	case !now.Before(r.ExpiresAt):
		return "expired"
	}
	return "live"
}
