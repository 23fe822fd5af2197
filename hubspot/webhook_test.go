package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"dealflow/db/dbtest"
	"dealflow/deal"
)

const testSecret = "client-secret"

func signedRequest(t *testing.T, target, signedURI string, body []byte, at time.Time, secret string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	r.Header.Set("X-HubSpot-Request-Timestamp", ts)
	r.Header.Set("X-HubSpot-Signature-v3", Sign(secret, http.MethodPost, signedURI, body, ts))
	return r
}

func events(n int) []byte {
	var evs []Event
	for i := range n {
		evs = append(evs, Event{EventID: int64(i + 1), SubscriptionID: 7, PortalID: 9, ObjectID: 11, OccurredAt: 1700000000000 + int64(i),
			SubscriptionType: "deal.propertyChange", PropertyName: "amount", PropertyValue: "5"})
	}
	b, _ := json.Marshal(evs)
	return b
}

// TestWebhookSignature: the v3 signature over method, URI, body and
// timestamp is checked, in constant time, against calls older than five
// minutes, with the URI built from DEALFLOW_BASE_URL behind a proxy; a
// refused call stores nothing.
func TestWebhookSignature(t *testing.T) {
	store := dbtest.Store(t)
	h := &Webhook{Secret: testSecret, Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	body := events(2)
	now := time.Now()
	stored := func() int {
		var n int
		if err := store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM hubspot_events").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const internal, public = "http://10.0.0.5:8080/hubspot/webhook?x=1", "https://dealflow.example.com/hubspot/webhook?x=1"
	cases := []struct {
		name    string
		baseURL string
		req     *http.Request
		want    int
	}{
		{"wrong secret", "", signedRequest(t, internal, internal, body, now, "another-secret"), http.StatusUnauthorized},
		{"six minutes old", "", signedRequest(t, internal, internal, body, now.Add(-6*time.Minute), testSecret), http.StatusUnauthorized},
		{"from the future", "", signedRequest(t, internal, internal, body, now.Add(6*time.Minute), testSecret), http.StatusUnauthorized},
		{"signed for the public URL, no base URL set", "", signedRequest(t, internal, public, body, now, testSecret), http.StatusUnauthorized},
		{"signed for the internal URL behind a proxy", "https://dealflow.example.com", signedRequest(t, internal, internal, body, now, testSecret), http.StatusUnauthorized},
		{"body changed after signing", "", func() *http.Request {
			r := signedRequest(t, internal, internal, body, now, testSecret)
			r.Body = io.NopCloser(bytes.NewReader(events(3)))
			return r
		}(), http.StatusUnauthorized},
		{"no timestamp", "", func() *http.Request {
			r := signedRequest(t, internal, internal, body, now, testSecret)
			r.Header.Del("X-HubSpot-Request-Timestamp")
			return r
		}(), http.StatusUnauthorized},
		{"signed, four minutes old", "", signedRequest(t, internal, internal, body, now.Add(-4*time.Minute), testSecret), http.StatusNoContent},
		{"signed for the public URL behind a proxy", "https://dealflow.example.com/", signedRequest(t, internal, public, body, now, testSecret), http.StatusNoContent},
		{"101 events", "", signedRequest(t, internal, internal, events(101), now, testSecret), http.StatusBadRequest},
	}
	for _, c := range cases {
		before := stored()
		h.BaseURL = c.baseURL
		w := httptest.NewRecorder()
		h.ServeHTTP(w, c.req)
		if w.Code != c.want {
			t.Errorf("%s: answered %d %s, want %d", c.name, w.Code, w.Body, c.want)
		}
		if added := stored() - before; c.want != http.StatusNoContent && added != 0 {
			t.Errorf("%s: refused, yet %d events stored", c.name, added)
		}
	}
	// The two accepted calls carried the same events: stored once.
	if n := stored(); n != 2 {
		t.Fatalf("%d events stored, want 2 (a repeat stores nothing)", n)
	}
}

// TestSignedURIDecodesAsHubSpotDoes: HubSpot signs the URI with these
// escapes decoded.
func TestSignedURIDecodesAsHubSpotDoes(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "http://x/hubspot/webhook?a=b%3Ac%2Fd%40e", nil)
	if got, want := SignedURI(r, "https://dealflow.example.com"), "https://dealflow.example.com/hubspot/webhook?a=b:c/d@e"; got != want {
		t.Fatalf("signed URI %q, want %q", got, want)
	}
}

func TestParseStages(t *testing.T) {
	s, err := ParseStages("discovery=appt, scoping=qualified,won=closedwon,lost=closedlost")
	if err != nil {
		t.Fatal(err)
	}
	for stage, want := range map[string]string{"discovery": "appt", "scoping": "qualified", "proposal": "qualified", "closing": "qualified",
		"handover": "closedwon", "in_progress": "closedwon", "closed_won": "closedwon", "closed_lost": "closedlost"} {
		if got := s.For(deal.Stage(stage)); got != want {
			t.Errorf("%s shows as %q, want %q", stage, got, want)
		}
	}
	for _, bad := range []string{"discovery=appt,won=closedwon", "discovery=appt,won=x,lost=x", "discovery=appt,won=w,lost=l,typo=t", "discovery"} {
		if _, err := ParseStages(bad); err == nil {
			t.Errorf("%q taken", bad)
		}
	}
}
