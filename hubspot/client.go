package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"dealflow/metrics"
)

// Client calls HubSpot's API with the private app's token, within the
// burst limit and the daily quota. One Client is the rate budget of one
// process; the bridge's lock (bridge.go) makes it the only writer of a
// firm, so two workers still spend one budget.
type Client struct {
	APIURL string
	Token  string
	HTTP   *http.Client
	limit  *budget
}

// NewClient makes a client keeping to c's limits.
func NewClient(c Config) *Client {
	return &Client{APIURL: c.APIURL, Token: c.Token, HTTP: &http.Client{Timeout: 30 * time.Second},
		limit: &budget{burst: c.Burst, every: c.BurstEvery, daily: c.DailyLimit}}
}

// Calls is how many requests this client sent (429s included).
func (c *Client) Calls() int64 {
	c.limit.mu.Lock()
	defer c.limit.mu.Unlock()
	return c.limit.calls
}

// APIError is an answer HubSpot gave with an error status, in its
// documented shape: {"status":"error","message":...,"category":...}.
type APIError struct {
	Status   int
	Category string `json:"category"`
	Message  string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HubSpot answered %d %s: %s", e.Status, e.Category, e.Message)
}

// Permanent is true for an answer a retry of the same request cannot
// change (a validation error, a missing scope, an unknown object).
func (e *APIError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests
}

// ErrDailyLimit is returned while the day's quota is spent.
var ErrDailyLimit = errors.New("HubSpot's daily API limit is spent; calls resume after midnight UTC")

// do sends one request and decodes the answer into out. A 429 waits as
// long as Retry-After says (or the rest of the burst window) and sends the
// request again, so callers never see one.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	for {
		if err := c.limit.take(ctx); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, c.APIURL+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			metrics.CRMFailure("network")
			return fmt.Errorf("HubSpot %s %s: %w", method, path, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		c.limit.observe(resp.Header)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			metrics.CRMFailure("429")
			if err := c.limit.backOff(ctx, resp.Header.Get("Retry-After")); err != nil {
				return err
			}
			continue
		case resp.StatusCode >= 300:
			e := &APIError{Status: resp.StatusCode}
			_ = json.Unmarshal(b, e)
			if e.Message == "" {
				e.Message = strings.TrimSpace(string(b))
			}
			metrics.CRMFailure(strconv.Itoa(resp.StatusCode))
			return e
		}
		if out == nil || len(b) == 0 {
			return nil
		}
		return json.Unmarshal(b, out)
	}
}

// budget keeps to the burst limit (a rolling window of `every`) and the
// daily quota. It spaces requests out rather than sending a burst and
// waiting: HubSpot counts its window rolling, and so does this.
type budget struct {
	burst int
	every time.Duration
	daily int

	mu    sync.Mutex
	sent  []time.Time // send times within the window, oldest first
	day   time.Time
	today int
	calls int64
	// until holds every request back after a 429 or a spent quota.
	until time.Time
}

func (b *budget) take(ctx context.Context) error {
	for {
		b.mu.Lock()
		now := time.Now()
		if d := now.UTC().Truncate(24 * time.Hour); !d.Equal(b.day) {
			b.day, b.today = d, 0
		}
		for len(b.sent) > 0 && now.Sub(b.sent[0]) >= b.every {
			b.sent = b.sent[1:]
		}
		var wait time.Duration
		switch {
		case b.today >= b.daily:
			b.mu.Unlock()
			return ErrDailyLimit
		case now.Before(b.until):
			wait = b.until.Sub(now)
		case len(b.sent) >= b.burst:
			wait = b.sent[0].Add(b.every).Sub(now)
		default:
			b.sent = append(b.sent, now)
			b.today++
			b.calls++
			b.mu.Unlock()
			return nil
		}
		b.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// backOff holds requests back for Retry-After seconds (HubSpot sends it on
// a 429; without it, a whole window).
func (b *budget) backOff(ctx context.Context, retryAfter string) error {
	d := b.every
	if s, err := strconv.ParseFloat(retryAfter, 64); err == nil && s >= 0 {
		d = time.Duration(s * float64(time.Second))
	}
	b.mu.Lock()
	b.until = time.Now().Add(d)
	b.mu.Unlock()
	return ctx.Err()
}

// observe takes HubSpot's own count of the day: when it says none are
// left, none are sent until the day ends.
func (b *budget) observe(h http.Header) {
	rem, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Daily-Remaining"))
	if err != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if rem <= 0 {
		b.today = b.daily
	}
}

// Deal is a HubSpot deal as GET /crm/v3/objects/deals/{id} answers it.
// Properties HubSpot has no value for are absent or null (nil here).
type Deal struct {
	ID           string             `json:"id"`
	Properties   map[string]*string `json:"properties"`
	Associations map[string]struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	} `json:"associations"`
}

// Prop is a property's value, "" when it has none.
func (d *Deal) Prop(name string) string {
	if v := d.Properties[name]; v != nil {
		return strings.TrimSpace(*v)
	}
	return ""
}

// GetDeal reads a deal with the given properties and its companies.
func (c *Client) GetDeal(ctx context.Context, id string, props []string) (*Deal, error) {
	q := url.Values{"properties": {strings.Join(props, ",")}, "associations": {"companies"}}
	var d Deal
	if err := c.do(ctx, http.MethodGet, "/crm/v3/objects/deals/"+url.PathEscape(id)+"?"+q.Encode(), nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// CompanyName is the name of a company.
func (c *Client) CompanyName(ctx context.Context, id string) (string, error) {
	var co Deal
	if err := c.do(ctx, http.MethodGet, "/crm/v3/objects/companies/"+url.PathEscape(id)+"?properties=name", nil, &co); err != nil {
		return "", err
	}
	return co.Prop("name"), nil
}

// Owner is a HubSpot owner: the owner id deals carry in hubspot_owner_id,
// and the user id webhook events name as sourceId "userId:<id>".
type Owner struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	UserID int64  `json:"userId"`
}

// GetOwner reads an owner by owner id.
func (c *Client) GetOwner(ctx context.Context, id string) (*Owner, error) {
	var o Owner
	if err := c.do(ctx, http.MethodGet, "/crm/v3/owners/"+url.PathEscape(id), nil, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// DealUpdate is one input of a batch update.
type DealUpdate struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
}

// UpdateDeals writes up to MaxBatch deals in one call.
func (c *Client) UpdateDeals(ctx context.Context, in []DealUpdate) error {
	if len(in) > MaxBatch {
		return fmt.Errorf("a batch update takes at most %d deals, not %d", MaxBatch, len(in))
	}
	return c.do(ctx, http.MethodPost, "/crm/v3/objects/deals/batch/update", map[string]any{"inputs": in}, nil)
}

// NoteToDeal is HubSpot's association type of a note on a deal.
const NoteToDeal = 214

// AddNote puts a note on a deal's timeline and returns the note's id.
func (c *Client) AddNote(ctx context.Context, dealObjectID, body string, at time.Time) (string, error) {
	in := map[string]any{
		"properties": map[string]string{"hs_note_body": body, "hs_timestamp": at.UTC().Format(time.RFC3339Nano)},
		"associations": []any{map[string]any{"to": map[string]string{"id": dealObjectID},
			"types": []any{map[string]any{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NoteToDeal}}}},
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/crm/v3/objects/notes", in, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}
