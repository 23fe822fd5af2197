package slackfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket is a fake Socket Mode endpoint: the WebSocket Slack's
// apps.connections.open points to. It greets each connection with hello,
// pings it as Slack does, delivers the envelopes a test sends, and collects
// the acknowledgements.
type Socket struct {
	*httptest.Server
	envelopes chan []byte
	acks      chan Ack

	mu    sync.Mutex
	conns int
}

// Ack is what the app answered to one envelope.
type Ack struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// NewSocket starts the endpoint; point Server.SocketURL at its WSURL.
func NewSocket() *Socket {
	s := &Socket{envelopes: make(chan []byte, 16), acks: make(chan Ack, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// WSURL is the ws:// address of the endpoint.
func (s *Socket) WSURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/link" }

// Connections counts the WebSocket connections the app opened.
func (s *Socket) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// SendInteractive delivers an interaction payload (block_actions,
// view_submission) in an envelope, as Slack does over Socket Mode.
func (s *Socket) SendInteractive(envelopeID string, payload []byte) {
	s.envelopes <- mustJSON(map[string]any{"envelope_id": envelopeID, "type": "interactive",
		"payload": json.RawMessage(payload), "accepts_response_payload": true})
}

// Acks delivers the app's acknowledgements in the order they arrive.
func (s *Socket) Acks() <-chan Ack { return s.acks }

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Socket) serve(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var a Ack
			if err := conn.ReadJSON(&a); err != nil {
				return
			}
			s.acks <- a
		}
	}()
	// One writer: gorilla connections take one at a time.
	if err := conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": "A0DEALFLOW"}}); err != nil {
		return
	}
	ping := time.NewTicker(2 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-done:
			return
		case e := <-s.envelopes:
			if err := conn.WriteMessage(websocket.TextMessage, e); err != nil {
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second)); err != nil {
				return
			}
		}
	}
}
