package slackfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HistoryPage is the most messages one conversations.history call
// answers: 999 for internal apps, the documented maximum of limit
// (https://docs.slack.dev/reference/methods/conversations.history). Apps
// distributed outside the Marketplace get 15; a test may lower it.
const HistoryPage = 999

// historyDefault is what limit is when a call gives none.
const historyDefault = 100

// nextTS is the ts of a new message: the time now, in Slack's
// seconds.microseconds form, strictly after the last one. Called with s.mu
// held.
func (s *Server) nextTS() string {
	now := time.Now()
	if !now.After(s.lastTS) {
		now = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = now
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}

// tsMicros reads a ts ("1700000000.000123") as microseconds, so ts compare
// exactly; false when it is not one.
func tsMicros(ts string) (int64, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, false
	}
	frac = (frac + "000000")[:6]
	us, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	return s*1_000_000 + us, true
}

// checkMetadata checks message metadata as chat.postMessage takes it: an
// object with an event_type string and an event_payload object.
func checkMetadata(raw json.RawMessage) error {
	var m struct {
		EventType    *string         `json:"event_type"`
		EventPayload json.RawMessage `json:"event_payload"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return &Refusal{Code: "invalid_metadata_format", Detail: err.Error()}
	}
	if m.EventType == nil || *m.EventType == "" {
		return &Refusal{Code: "invalid_metadata_format", Detail: "metadata without an event_type"}
	}
	var payload map[string]any
	if err := json.Unmarshal(m.EventPayload, &payload); err != nil || payload == nil {
		return &Refusal{Code: "invalid_metadata_format", Detail: "event_payload is not an object"}
	}
	return nil
}

// history answers conversations.history as Slack documents it: the
// messages of one conversation, newest first, after oldest and before
// latest (exclusive unless inclusive), at most limit (100 when not given,
// HistoryPage at most) a page, paged by an opaque cursor. Metadata comes
// only with include_all_metadata. Called with s.mu held.
func (s *Server) history(w http.ResponseWriter, form url.Values) {
	ch := form.Get("channel")
	if ch == "" || !strings.ContainsAny(ch[:1], "CGD") {
		answer(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	limit := historyDefault
	if l := form.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			answer(w, map[string]any{"ok": false, "error": "invalid_limit"})
			return
		}
		limit = n
	}
	limit = min(limit, s.historyPage())
	inclusive := form.Get("inclusive") == "1" || form.Get("inclusive") == "true"
	withMeta := form.Get("include_all_metadata") == "1" || form.Get("include_all_metadata") == "true"
	bound := func(name string) (int64, bool, bool) {
		v := form.Get(name)
		if v == "" {
			return 0, false, true
		}
		us, ok := tsMicros(v)
		return us, true, ok
	}
	oldest, hasOldest, ok1 := bound("oldest")
	latest, hasLatest, ok2 := bound("latest")
	if !ok1 || !ok2 {
		answer(w, map[string]any{"ok": false, "error": "invalid_ts_oldest"})
		return
	}
	// The cursor is where the last page stopped: messages older than it.
	var before int64
	hasBefore := false
	if c := form.Get("cursor"); c != "" {
		b, err := base64.StdEncoding.DecodeString(c)
		ts, found := strings.CutPrefix(string(b), "before:")
		us, ok := tsMicros(ts)
		if err != nil || !found || !ok {
			answer(w, map[string]any{"ok": false, "error": "invalid_cursor"})
			return
		}
		before, hasBefore = us, true
	}
	var page []map[string]any
	more := false
	for i := len(s.messages) - 1; i >= 0; i-- {
		m := s.messages[i]
		if m.Channel != ch {
			continue
		}
		us, _ := tsMicros(m.TS)
		switch {
		case hasBefore && us >= before,
			hasLatest && (us > latest || (us == latest && !inclusive)):
			continue
		case hasOldest && (us < oldest || (us == oldest && !inclusive)):
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		msg := map[string]any{"type": "message", "bot_id": "B0DEALFLOW", "app_id": "A0DEALFLOW", "ts": m.TS, "text": m.Text}
		if len(m.Blocks) > 0 {
			msg["blocks"] = m.Blocks
		}
		if withMeta && len(m.Metadata) > 0 {
			msg["metadata"] = m.Metadata
		}
		page = append(page, msg)
	}
	if page == nil {
		page = []map[string]any{}
	}
	res := map[string]any{"ok": true, "messages": page, "has_more": more, "pin_count": 0}
	if more {
		last := page[len(page)-1]["ts"].(string)
		res["response_metadata"] = map[string]any{"next_cursor": base64.StdEncoding.EncodeToString([]byte("before:" + last))}
	}
	answer(w, res)
}

// historyPage is the page size limit: Limits.HistoryPage, or Slack's.
func (s *Server) historyPage() int {
	if s.Limits.HistoryPage > 0 {
		return s.Limits.HistoryPage
	}
	return HistoryPage
}

// openIM answers conversations.open for one user: the app's direct message
// with them, the channel chat.postMessage to their user id lands in.
func (s *Server) openIM(w http.ResponseWriter, form url.Values) {
	users := form.Get("users")
	if users == "" {
		answer(w, map[string]any{"ok": false, "error": "users_list_not_supplied"})
		return
	}
	if strings.Contains(users, ",") {
		answer(w, map[string]any{"ok": false, "error": "not_implemented", "detail": "the fake opens direct messages with one user"})
		return
	}
	answer(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + users}})
}

// NoticeKey is the notice key in a message's metadata (dealflow's
// dealflow_notice event), "" when it has none.
func NoticeKey(metadata json.RawMessage) string {
	var m struct {
		EventType    string `json:"event_type"`
		EventPayload struct {
			Key string `json:"key"`
		} `json:"event_payload"`
	}
	if json.Unmarshal(metadata, &m) != nil || m.EventType != "dealflow_notice" {
		return ""
	}
	return m.EventPayload.Key
}
