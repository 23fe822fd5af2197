package server

import (
	"bytes"
	"dealflow/deal/dealtest"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dealflow/activities/slackfake"
	"dealflow/deal"
)

const (
	testBotToken      = "xoxb-test-token"
	testSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"
)

// slackServer is a worker whose Slack is the fake Web API.
func slackServer(t *testing.T, mutate func(*Config)) (*Server, *slackfake.Server) {
	t.Helper()
	fake := slackfake.New(testBotToken)
	t.Cleanup(fake.Close)
	s := startServer(t, func(c *Config) {
		c.Slack = SlackConfig{BotToken: testBotToken, SigningSecret: testSigningSecret, APIURL: fake.APIURL()}
		if mutate != nil {
			mutate(c)
		}
	})
	return s, fake
}

// slackSignedRequest posts body to the interactions endpoint with the headers
// Slack would send, signed at ts with secret.
func slackSignedRequest(t *testing.T, s *Server, body []byte, ts int64, secret string) (int, string) {
	t.Helper()
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Slack-Signature", slackfake.Sign(secret, ts, body))
	return slackRawRequest(t, s, body, h)
}

func slackRawRequest(t *testing.T, s *Server, body []byte, h http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.Addr+"/slack/interactions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// slackInteract posts a payload exactly as Slack does and expects 200.
func slackInteract(t *testing.T, s *Server, payload []byte) string {
	t.Helper()
	code, body := slackSignedRequest(t, s, slackfake.Body(payload), time.Now().Unix(), testSigningSecret)
	if code != http.StatusOK {
		t.Fatalf("interaction answered %d %s", code, body)
	}
	return body
}

var slackTriggers atomic.Int64

// slackClick clicks the button actionID of msg as user.
func slackClick(t *testing.T, s *Server, user string, msg slackfake.Message, actionID string) {
	t.Helper()
	b, ok := slackfake.FindButton(msg.Blocks, actionID)
	if !ok {
		t.Fatalf("message %s/%s has no %s button; it has %v", msg.Channel, msg.TS, actionID, slackfake.Buttons(msg.Blocks))
	}
	n := slackTriggers.Add(1)
	slackInteract(t, s, slackfake.BlockActions(user, msg.Channel, msg.TS, fmt.Sprintf("trigger-%d", n), b, fmt.Sprintf("1700000100.%06d", n)))
}

// slackWaitFor polls the fake until cond holds for its calls of method, and
// returns those calls.
func slackWaitFor(t *testing.T, fake *slackfake.Server, method, what string, cond func([]slackfake.Call) bool) []slackfake.Call {
	t.Helper()
	var calls []slackfake.Call
	dealtest.Eventually(t, what, func() bool {
		calls = fake.Calls(method)
		return cond(calls)
	})
	return calls
}

// slackNextView waits for the n-th modal (1-based) and returns it.
func slackNextView(t *testing.T, fake *slackfake.Server, n int) slackfake.Call {
	t.Helper()
	calls := slackWaitFor(t, fake, "views.open", fmt.Sprintf("modal #%d to open", n), func(c []slackfake.Call) bool { return len(c) >= n })
	return calls[n-1]
}

// slackNextEphemeral waits for the n-th ephemeral slackMessage to user and returns
// its text.
func slackNextEphemeral(t *testing.T, fake *slackfake.Server, user string, n int) string {
	t.Helper()
	var mine []slackfake.Call
	dealtest.Eventually(t, fmt.Sprintf("ephemeral slackMessage #%d to %s", n, user), func() bool {
		mine = nil
		for _, c := range fake.Calls("chat.postEphemeral") {
			if c.User == user {
				mine = append(mine, c)
			}
		}
		return len(mine) >= n
	})
	return mine[n-1].Text
}

func slackWantContains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("%s %q does not say %q", what, got, want)
	}
}

// slackMessage waits for a posted slackMessage whose text contains want and returns
// its current content.
func slackMessage(t *testing.T, fake *slackfake.Server, what string, match func(slackfake.Message) bool) slackfake.Message {
	t.Helper()
	var found slackfake.Message
	dealtest.Eventually(t, what, func() bool {
		for _, m := range fake.Messages() {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// slackTicketMessage waits for the slackMessage of a ticket that has the button.
func slackTicketMessage(t *testing.T, fake *slackfake.Server, ticket, actionID string) slackfake.Message {
	t.Helper()
	return slackMessage(t, fake, ticket+" ticket slackMessage with "+actionID, func(m slackfake.Message) bool {
		b, ok := slackfake.FindButton(m.Blocks, actionID)
		return ok && strings.Contains(b.Value, `"ticket":"`+ticket+`"`)
	})
}

// slackRecord is the deal as PostgreSQL holds it once it has caught up
// with the workflow: the workflow keeps no lists to ask for.
func slackRecord(t *testing.T, s *Server, dealID string) *deal.Record {
	t.Helper()
	r, _ := stored(t, s, dealID)
	return r
}

func slackTicket(r *deal.Record, id string) deal.Ticket {
	for _, tk := range r.Tickets {
		if tk.ID == id {
			return tk
		}
	}
	return deal.Ticket{}
}
