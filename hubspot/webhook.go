package hubspot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"dealflow/db"
	"dealflow/db/dbq"
	"dealflow/metrics"
)

// MaxSignatureAge is how old a signed call may be: HubSpot's v3 rule.
const MaxSignatureAge = 5 * time.Minute

// maxWebhookBody bounds one call: 100 events of a few hundred bytes each.
const maxWebhookBody = 1 << 20

// Event is one webhook event as HubSpot sends it.
type Event struct {
	EventID          int64  `json:"eventId"`
	SubscriptionID   int64  `json:"subscriptionId"`
	PortalID         int64  `json:"portalId"`
	AppID            int64  `json:"appId"`
	OccurredAt       int64  `json:"occurredAt"`
	SubscriptionType string `json:"subscriptionType"`
	AttemptNumber    int    `json:"attemptNumber"`
	ObjectID         int64  `json:"objectId"`
	PropertyName     string `json:"propertyName,omitempty"`
	PropertyValue    string `json:"propertyValue,omitempty"`
	ChangeSource     string `json:"changeSource,omitempty"`
	SourceID         string `json:"sourceId,omitempty"`
}

// Sign is the X-HubSpot-Signature-v3 of a call: the base64 HMAC-SHA256,
// keyed by the client secret, of method, URI, body and timestamp.
func Sign(secret, method, uri string, body []byte, timestamp string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(method + uri))
	h.Write(body)
	h.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// uriDecoding are the escapes HubSpot decodes in the URI before signing.
var uriDecoding = strings.NewReplacer("%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$",
	"%27", "'", "%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";")

// SignedURI is the URI HubSpot signed for a request: the public base URL
// and the path when DEALFLOW_BASE_URL is set (behind a proxy the request's
// own host is the proxy's view), else the request's own scheme and host.
func SignedURI(r *http.Request, baseURL string) string {
	if baseURL != "" {
		return uriDecoding.Replace(strings.TrimRight(baseURL, "/") + r.URL.RequestURI())
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return uriDecoding.Replace(scheme + "://" + r.Host + r.URL.RequestURI())
}

// Verify checks a call's v3 signature and age, in constant time.
func Verify(secret string, r *http.Request, body []byte, baseURL string, now time.Time) error {
	ts := r.Header.Get("X-HubSpot-Request-Timestamp")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no valid X-HubSpot-Request-Timestamp")
	}
	if age := now.Sub(time.UnixMilli(ms)); age > MaxSignatureAge || age < -MaxSignatureAge {
		return fmt.Errorf("the call was signed %s from now, more than %s", age.Round(time.Second), MaxSignatureAge)
	}
	want := Sign(secret, r.Method, SignedURI(r, baseURL), body, ts)
	if subtle.ConstantTimeCompare([]byte(want), []byte(r.Header.Get("X-HubSpot-Signature-v3"))) != 1 {
		return errors.New("the X-HubSpot-Signature-v3 does not match")
	}
	return nil
}

// Webhook is POST /hubspot/webhook: it verifies the call, stores its
// events durably (a repeat stores nothing) and answers at once; the bridge
// applies them (apply.go). A call is answered 2xx only once its events are
// in PostgreSQL, so HubSpot retries anything not kept.
type Webhook struct {
	Secret  string
	BaseURL string
	Store   *db.Store
	Log     *slog.Logger
	// Nudge wakes the bridge; it must not block.
	Nudge func()
	// Now is the clock (tests set it).
	Now func() time.Time
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		http.Error(w, "the body is too large", http.StatusRequestEntityTooLarge)
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if err := Verify(h.Secret, r, body, h.BaseURL, now()); err != nil {
		metrics.CRMFailure("signature")
		http.Error(w, "refused: "+err.Error(), http.StatusUnauthorized)
		return
	}
	events, err := ParseEvents(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := StoreEvents(r.Context(), h.Store, events); err != nil {
		metrics.CRMFailure("intake")
		h.Log.Error("hubspot webhook: storing events", "error", err)
		http.Error(w, "the events could not be stored; HubSpot sends them again", http.StatusServiceUnavailable)
		return
	}
	if h.Nudge != nil {
		h.Nudge()
	}
	w.WriteHeader(http.StatusNoContent)
}

// ParseEvents reads a call's body: a JSON array of at most 100 events,
// each naming its portal, subscription, event, object and time.
func ParseEvents(body []byte) ([]Event, error) {
	var events []Event
	if err := json.Unmarshal(body, &events); err != nil {
		return nil, fmt.Errorf("the body is not a JSON array of events: %v", err)
	}
	if len(events) > MaxEventsPerCall {
		return nil, fmt.Errorf("a call carries at most %d events, not %d", MaxEventsPerCall, len(events))
	}
	for i, e := range events {
		if e.PortalID == 0 || e.SubscriptionID == 0 || e.EventID == 0 || e.ObjectID == 0 || e.OccurredAt == 0 || e.SubscriptionType == "" {
			return nil, fmt.Errorf("event %d lacks one of portalId, subscriptionId, eventId, objectId, occurredAt, subscriptionType", i)
		}
	}
	return events, nil
}

// StoreEvents keeps events in one transaction; repeats insert nothing.
func StoreEvents(ctx context.Context, s *db.Store, events []Event) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		for _, e := range events {
			if _, err := q.InsertHubSpotEvent(ctx, dbq.InsertHubSpotEventParams{PortalID: e.PortalID, SubscriptionID: e.SubscriptionID,
				EventID: e.EventID, ObjectID: e.ObjectID, OccurredAt: e.OccurredAt, SubscriptionType: e.SubscriptionType,
				PropertyName: e.PropertyName, PropertyValue: e.PropertyValue, ChangeSource: e.ChangeSource, SourceID: e.SourceID,
				AppID: e.AppID}); err != nil {
				return err
			}
		}
		return nil
	})
}
