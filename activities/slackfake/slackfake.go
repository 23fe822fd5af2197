// Package slackfake is Slack as dealflow's tests see it: a fake Web API on
// httptest that records the calls dealflow makes and keeps each message's
// current content, and builders for interaction payloads signed the way
// Slack signs them.
package slackfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Call is one Web API call as the fake received it.
type Call struct {
	Method    string
	Channel   string
	User      string
	TS        string
	Text      string
	Blocks    json.RawMessage
	TriggerID string
	View      json.RawMessage
	ViewID    string
	// Metadata is a post's message metadata (event_type, event_payload).
	Metadata json.RawMessage
	// Email is what users.lookupByEmail was asked for.
	Email string
}

// Message is a posted message with its current content.
type Message struct {
	Channel string
	TS      string
	Text    string
	Blocks  json.RawMessage
	Updates int
	// Metadata is the message metadata it was posted with, if any.
	Metadata json.RawMessage
}

// Server is the fake Web API. Its URL + "/api/" is SLACK_API_URL.
type Server struct {
	*httptest.Server
	// Token is the bot token every call must carry.
	Token string
	// AppToken is the app-level token apps.connections.open must carry.
	AppToken string
	// SocketURL is what apps.connections.open answers.
	SocketURL string
	// Limits are what messages and views are checked against: Slack's
	// unless a test lowers them to make Slack refuse what it sends.
	Limits Limits

	mu       sync.Mutex
	seq      int
	calls    []Call
	refused  []Refusal
	messages []*Message
	limited  map[string]int
	retry    int
	failures map[string]string
	// channelFailures are per channel (as posted to, before a user id
	// becomes a DM), for chat.postMessage.
	channelFailures map[string]string
	// users are what users.info answers, by user id.
	users map[string]user
	// outages are the faults calls meet, by method (faults.go).
	outages      map[string]*outage
	faultsServed int
	// lastTS is the ts of the newest message: ts grow strictly.
	lastTS time.Time
}

type user struct{ name, realName, email string }

// New starts a fake Web API that accepts token.
func New(token string) *Server {
	s := &Server{Token: token, Limits: SlackLimits, limited: map[string]int{}, failures: map[string]string{}, channelFailures: map[string]string{}, users: map[string]user{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetUser makes users.info know a user: name is the user name (handle),
// realName the full name. Others are answered user_not_found, as Slack does.
func (s *Server) SetUser(id, name, realName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = user{name: name, realName: realName, email: s.users[id].email}
}

// SetEmail gives a user known to users.info the email address
// users.lookupByEmail finds them by (Slack's profile.email).
func (s *Server) SetEmail(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	u.email = email
	s.users[id] = u
}

// APIURL is the base URL to give the Slack client.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// RateLimit makes the next n calls of method answer 429 with Retry-After.
func (s *Server) RateLimit(method string, n, retryAfterSeconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[method] = n
	s.retry = retryAfterSeconds
}

// Fail makes every call of method answer ok=false with the error code.
func (s *Server) Fail(method, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = code
}

// FailChannel makes every chat.postMessage to channel (a channel or user
// id, as given to chat.postMessage) answer ok=false with the error code; an
// empty code ends the failures.
func (s *Server) FailChannel(channel, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channelFailures[channel] = code
}

// Calls lists the accepted calls of a method (all methods when empty), in
// order. Calls refused with 429 or an error are not listed.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Refusals lists the calls refused for their content, in order.
func (s *Server) Refusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Refusal(nil), s.refused...)
}

// SetLimits changes the limits for the calls that follow.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Limits = l
}

// refuse answers ok=false for content Slack would not take, as Slack does,
// and keeps the refusal for the test to read.
func (s *Server) refuse(w http.ResponseWriter, method string, err error) bool {
	if err == nil {
		return false
	}
	r, ok := err.(*Refusal)
	if !ok {
		r = &Refusal{Code: "invalid_arguments", Detail: err.Error()}
	}
	r.Method = method
	s.refused = append(s.refused, *r)
	answer(w, map[string]any{"ok": false, "error": r.Code, "response_metadata": map[string]any{"messages": []string{"[ERROR] " + r.Detail}}})
	return true
}

// Messages lists the posted messages in order, with their current content.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var c Call
	c.Method = method
	var form url.Values
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body struct {
			TriggerID string          `json:"trigger_id"`
			View      json.RawMessage `json:"view"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil && method != "apps.connections.open" {
			answer(w, map[string]any{"ok": false, "error": "invalid_json"})
			return
		}
		c.TriggerID, c.View = body.TriggerID, body.View
	} else {
		if err := r.ParseForm(); err != nil {
			answer(w, map[string]any{"ok": false, "error": "invalid_form_data"})
			return
		}
		if t := r.PostForm.Get("token"); t != "" {
			token = t
		}
		form = r.PostForm
		c.Channel, c.User, c.TS, c.Text = r.PostForm.Get("channel"), r.PostForm.Get("user"), r.PostForm.Get("ts"), r.PostForm.Get("text")
		c.Email = r.PostForm.Get("email")
		if b := r.PostForm.Get("blocks"); b != "" {
			c.Blocks = json.RawMessage(b)
		}
		if m := r.PostForm.Get("metadata"); m != "" {
			c.Metadata = json.RawMessage(m)
		}
	}

	s.mu.Lock()
	want := s.Token
	if method == "apps.connections.open" {
		want = s.AppToken
	}
	if token != want || want == "" {
		s.mu.Unlock()
		answer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if f, ok := s.fault(method); ok {
		s.mu.Unlock()
		serveFault(w, r, f, func(w http.ResponseWriter) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.handle(w, c, form)
		})
		return
	}
	defer s.mu.Unlock()
	s.handle(w, c, form)
}

// handle runs one call that met no fault. Called with s.mu held.
func (s *Server) handle(w http.ResponseWriter, c Call, form url.Values) {
	method := c.Method
	if s.limited[method] > 0 {
		s.limited[method]--
		w.Header().Set("Retry-After", strconv.Itoa(s.retry))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if code := s.failures[method]; code != "" {
		answer(w, map[string]any{"ok": false, "error": code})
		return
	}
	s.seq++
	switch method {
	case "chat.postMessage":
		if c.Channel == "" {
			answer(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		if code := s.channelFailures[c.Channel]; code != "" {
			answer(w, map[string]any{"ok": false, "error": code})
			return
		}
		if s.refuse(w, method, s.Limits.Message(c.Text, c.Blocks)) {
			return
		}
		if len(c.Metadata) > 0 && s.refuse(w, method, checkMetadata(c.Metadata)) {
			return
		}
		// Posting to a user id lands in the app's direct message with them.
		if strings.HasPrefix(c.Channel, "U") || strings.HasPrefix(c.Channel, "W") {
			c.Channel = "D" + c.Channel
		}
		c.TS = s.nextTS()
		s.messages = append(s.messages, &Message{Channel: c.Channel, TS: c.TS, Text: c.Text, Blocks: c.Blocks, Metadata: c.Metadata})
		s.calls = append(s.calls, c)
		answer(w, map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS, "message": map[string]any{"text": c.Text, "ts": c.TS}})
	case "chat.update":
		m := s.message(c.Channel, c.TS)
		if m == nil {
			answer(w, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
		if s.refuse(w, method, s.Limits.Message(c.Text, c.Blocks)) {
			return
		}
		m.Text, m.Blocks = c.Text, c.Blocks
		m.Updates++
		s.calls = append(s.calls, c)
		answer(w, map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS, "text": c.Text})
	case "chat.postEphemeral":
		s.calls = append(s.calls, c)
		answer(w, map[string]any{"ok": true, "message_ts": fmt.Sprintf("1700000000.%06d", s.seq)})
	case "views.open":
		if c.TriggerID == "" {
			answer(w, map[string]any{"ok": false, "error": "invalid_trigger_id"})
			return
		}
		if s.refuse(w, method, s.Limits.View(c.View)) {
			return
		}
		c.ViewID = fmt.Sprintf("V%06d", s.seq)
		var view map[string]any
		if err := json.Unmarshal(c.View, &view); err != nil {
			answer(w, map[string]any{"ok": false, "error": "invalid_arguments"})
			return
		}
		view["id"] = c.ViewID
		s.calls = append(s.calls, c)
		answer(w, map[string]any{"ok": true, "view": view})
	case "users.info":
		s.calls = append(s.calls, c)
		u, ok := s.users[c.User]
		if !ok {
			answer(w, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		answer(w, map[string]any{"ok": true, "user": map[string]any{"id": c.User, "name": u.name, "real_name": u.realName,
			"profile": map[string]any{"real_name": u.realName, "display_name": u.name}}})
	case "conversations.history":
		s.calls = append(s.calls, c)
		s.history(w, form)
	case "conversations.open":
		s.calls = append(s.calls, c)
		s.openIM(w, form)
	case "users.lookupByEmail":
		// Slack matches the profile's email exactly as registered (case
		// aside); a missing argument is invalid_arguments, an unknown
		// address users_not_found.
		if c.Email == "" {
			answer(w, map[string]any{"ok": false, "error": "invalid_arguments"})
			return
		}
		s.calls = append(s.calls, c)
		for id, u := range s.users {
			if u.email != "" && strings.EqualFold(u.email, c.Email) {
				answer(w, map[string]any{"ok": true, "user": map[string]any{"id": id, "name": u.name, "real_name": u.realName,
					"profile": map[string]any{"real_name": u.realName, "display_name": u.name, "email": u.email}}})
				return
			}
		}
		answer(w, map[string]any{"ok": false, "error": "users_not_found"})
	case "apps.connections.open":
		s.calls = append(s.calls, c)
		answer(w, map[string]any{"ok": true, "url": s.SocketURL})
	default:
		answer(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (s *Server) message(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Button is a button found in a message's blocks.
type Button struct {
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	BlockID  string
	Text     string
}

// Buttons lists the buttons of a message's blocks, in order.
func Buttons(blocks json.RawMessage) []Button {
	var bs []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	_ = json.Unmarshal(blocks, &bs)
	var out []Button
	for _, b := range bs {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, Button{ActionID: e.ActionID, Value: e.Value, BlockID: b.BlockID, Text: e.Text.Text})
			}
		}
	}
	return out
}

// FindButton finds the button with an action id.
func FindButton(blocks json.RawMessage, actionID string) (Button, bool) {
	for _, b := range Buttons(blocks) {
		if b.ActionID == actionID {
			return b, true
		}
	}
	return Button{}, false
}

// Text is every piece of text in blocks, joined by newlines, for checking
// what a message says.
func Text(blocks json.RawMessage) string {
	var v any
	_ = json.Unmarshal(blocks, &v)
	var parts []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if t, ok := x["text"].(string); ok {
				parts = append(parts, t)
			}
			for k, e := range x {
				if k != "text" || !isString(e) {
					walk(e)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return strings.Join(parts, "\n")
}

func isString(v any) bool { _, ok := v.(string); return ok }

// BlockActions is a block_actions payload for a click on a button of a
// message, as Slack documents it.
func BlockActions(user, channel, messageTS, triggerID string, b Button, actionTS string) []byte {
	p := map[string]any{
		"type":         "block_actions",
		"team":         map[string]any{"id": "T0DEALS", "domain": "dealflow"},
		"user":         map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": "T0DEALS"},
		"api_app_id":   "A0DEALFLOW",
		"token":        "deprecated-verification-token",
		"container":    map[string]any{"type": "message", "message_ts": messageTS, "channel_id": channel, "is_ephemeral": false},
		"trigger_id":   triggerID,
		"channel":      map[string]any{"id": channel, "name": "deal"},
		"message":      map[string]any{"type": "message", "ts": messageTS, "text": ""},
		"response_url": "https://hooks.slack.com/actions/T0DEALS/1/x",
		"actions": []any{map[string]any{
			"action_id": b.ActionID, "block_id": b.BlockID, "type": "button", "value": b.Value, "action_ts": actionTS,
			"text": map[string]any{"type": "plain_text", "text": b.Text, "emoji": true},
		}},
	}
	return mustJSON(p)
}

// Input is one value typed or chosen in a modal: block id, action id, and
// what Slack puts in view.state.values for that element.
type Input struct {
	BlockID  string
	ActionID string
	// Value is the text of a text or url input.
	Value string
	// Selected are the option values of checkboxes or a select.
	Selected []string
	// Type is the element type; plain_text_input when empty.
	Type string
}

// ViewSubmission is a view_submission payload for a modal the fake opened
// (its views.open call), submitted by user with inputs.
func ViewSubmission(user string, opened Call, inputs ...Input) []byte {
	var view map[string]any
	_ = json.Unmarshal(opened.View, &view)
	view["id"] = opened.ViewID
	view["team_id"] = "T0DEALS"
	view["hash"] = "1700000000.abc"
	values := map[string]any{}
	for _, in := range inputs {
		typ := in.Type
		if typ == "" {
			typ = "plain_text_input"
		}
		el := map[string]any{"type": typ}
		switch typ {
		case "checkboxes":
			opts := []any{}
			for _, v := range in.Selected {
				opts = append(opts, map[string]any{"value": v, "text": map[string]any{"type": "plain_text", "text": v}})
			}
			el["selected_options"] = opts
		case "static_select":
			if len(in.Selected) > 0 {
				el["selected_option"] = map[string]any{"value": in.Selected[0], "text": map[string]any{"type": "plain_text", "text": in.Selected[0]}}
			}
		default:
			el["value"] = in.Value
		}
		blk, _ := values[in.BlockID].(map[string]any)
		if blk == nil {
			blk = map[string]any{}
			values[in.BlockID] = blk
		}
		blk[in.ActionID] = el
	}
	view["state"] = map[string]any{"values": values}
	p := map[string]any{
		"type":          "view_submission",
		"team":          map[string]any{"id": "T0DEALS", "domain": "dealflow"},
		"user":          map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": "T0DEALS"},
		"api_app_id":    "A0DEALFLOW",
		"token":         "deprecated-verification-token",
		"trigger_id":    "trigger-submit-" + opened.ViewID,
		"view":          view,
		"response_urls": []any{},
	}
	return mustJSON(p)
}

// Body is the request body Slack sends for an interaction payload.
func Body(payload []byte) []byte {
	return []byte(url.Values{"payload": {string(payload)}}.Encode())
}

// Sign is the X-Slack-Signature of body sent at timestamp: v0= and the hex
// HMAC-SHA256 of "v0:{timestamp}:{body}" keyed by the signing secret.
func Sign(secret string, timestamp int64, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(h, "v0:%d:", timestamp)
	h.Write(body)
	return "v0=" + hex.EncodeToString(h.Sum(nil))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
