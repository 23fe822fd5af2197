package hubspottest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"dealflow/hubspot"
)

// Webhooks says where and how the fake sends its webhook calls.
type Webhooks struct {
	// Target is where calls are posted; SignedURL the URI signed (the
	// public URL HubSpot knows, which differs behind a proxy). Empty
	// SignedURL signs Target.
	Target, SignedURL string
	Secret            string
	// Properties are the deal properties with a propertyChange
	// subscription; deal.creation is always subscribed.
	Properties []string
	// OutOfOrder sends each call's events newest first; Twice sends every
	// call again after it was taken (a retry with the same eventIds).
	OutOfOrder, Twice bool
	// RetryEvery is the pause before a failed call is sent again
	// (HubSpot's is minutes; tests use less).
	RetryEvery time.Duration
}

type sender struct {
	cfg      Webhooks
	subs     map[string]int64
	queue    []hubspot.Event
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	taken    int
	failures int
}

// Subscribe starts sending webhook calls for what changes from now on.
func (s *Server) Subscribe(cfg Webhooks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg.RetryEvery == 0 {
		cfg.RetryEvery = 200 * time.Millisecond
	}
	subs := map[string]int64{"deal.creation": 1001}
	for i, p := range cfg.Properties {
		subs["deal.propertyChange:"+p] = int64(2001 + i)
	}
	s.hook = &sender{cfg: cfg, subs: subs, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.send(s.hook)
}

// Close stops the webhook sender and the server.
func (s *Server) Close() {
	s.mu.Lock()
	h := s.hook
	s.mu.Unlock()
	if h != nil {
		close(h.stop)
		<-h.done
	}
	s.Server.Close()
}

// Webhook counts: calls taken (2xx), calls failed, events still queued.
func (s *Server) WebhookCounts() (taken, failed, queued int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hook == nil {
		return 0, 0, 0
	}
	return s.hook.taken, s.hook.failures, len(s.hook.queue)
}

// emit queues an event if it is subscribed to. Holds s.mu.
func (s *Server) emit(objectID, typ, prop, value, source, sourceID string) {
	h := s.hook
	if h == nil {
		return
	}
	key := typ
	if prop != "" {
		key += ":" + prop
	}
	sub, ok := h.subs[key]
	if !ok {
		return
	}
	s.seq++
	oid, _ := strconv.ParseInt(objectID, 10, 64)
	h.queue = append(h.queue, hubspot.Event{EventID: 100000 + s.seq, SubscriptionID: sub, PortalID: s.PortalID, AppID: s.AppID,
		OccurredAt: time.Now().UnixMilli(), SubscriptionType: typ, ObjectID: oid, PropertyName: prop, PropertyValue: value,
		ChangeSource: source, SourceID: sourceID})
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (s *Server) send(h *sender) {
	defer close(h.done)
	attempt := 0
	for {
		s.mu.Lock()
		n := min(len(h.queue), hubspot.MaxEventsPerCall)
		call := slices.Clone(h.queue[:n])
		s.mu.Unlock()
		if n == 0 {
			select {
			case <-h.stop:
				return
			case <-h.wake:
			}
			continue
		}
		for i := range call {
			call[i].AttemptNumber = attempt
		}
		if h.cfg.OutOfOrder {
			slices.Reverse(call)
		}
		ok := h.post(call)
		if ok && h.cfg.Twice {
			for i := range call {
				call[i].AttemptNumber++
			}
			h.post(call)
		}
		s.mu.Lock()
		if ok {
			h.taken++
			h.queue = h.queue[n:]
			attempt = 0
		} else {
			h.failures++
			attempt++
		}
		s.mu.Unlock()
		if !ok {
			select {
			case <-h.stop:
				return
			case <-time.After(h.cfg.RetryEvery):
			}
		}
	}
}

// post sends one call signed the v3 way and says whether it was taken.
func (h *sender) post(events []hubspot.Event) bool {
	body, _ := json.Marshal(events)
	req, err := http.NewRequest(http.MethodPost, h.cfg.Target, bytes.NewReader(body))
	if err != nil {
		return false
	}
	signed := h.cfg.SignedURL
	if signed == "" {
		signed = h.cfg.Target
	}
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-HubSpot-Request-Timestamp", ts)
	req.Header.Set("X-HubSpot-Signature-v3", hubspot.Sign(h.cfg.Secret, http.MethodPost, signed, body, ts))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
