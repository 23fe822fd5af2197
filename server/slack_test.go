package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dealflow/activities"
	"dealflow/activities/slackfake"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// approvePayload is Presales' click on Approve of the discovery ticket.
func approvePayload(t *testing.T, fake *slackfake.Server) []byte {
	t.Helper()
	msg := slackTicketMessage(t, fake, "discovery", activities.ActionApprove)
	b, _ := slackfake.FindButton(msg.Blocks, activities.ActionApprove)
	return slackfake.BlockActions(dealtest.Presales, msg.Channel, msg.TS, "trigger-signed", b, "1700000100.000001")
}

// TestSlackRequestsMustBeSigned: an unsigned, wrongly signed, stale or
// tampered request is answered 401 and does nothing else; the same click
// signed as Slack signs it opens the modal.
func TestSlackRequestsMustBeSigned(t *testing.T) {
	s, fake := slackServer(t, nil)
	openDeal(t, s, dealtest.Terms("sl-sig", time.Now()))
	body := slackfake.Body(approvePayload(t, fake))
	now := time.Now().Unix()
	signed := func(secret string, ts int64) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", itoa(ts))
		h.Set("X-Slack-Signature", slackfake.Sign(secret, ts, body))
		return h
	}
	garbage := signed(testSigningSecret, now)
	garbage.Set("X-Slack-Signature", "v0=not-hex")
	tampered := bytes.Replace(body, []byte(dealtest.Presales), []byte(dealtest.AE), 1)
	before := s.slack.handled.Load()
	for _, c := range []struct {
		name string
		body []byte
		h    http.Header
	}{
		{"unsigned", body, http.Header{}},
		{"no timestamp", body, http.Header{"X-Slack-Signature": signed(testSigningSecret, now)["X-Slack-Signature"]}},
		{"wrong secret", body, signed("not-the-signing-secret", now)},
		{"stale timestamp", body, signed(testSigningSecret, now-6*60)},
		{"timestamp from the future", body, signed(testSigningSecret, now+6*60)},
		{"malformed signature", body, garbage},
		{"body tampered after signing", tampered, signed(testSigningSecret, now)},
	} {
		if code, answer := slackRawRequest(t, s, c.body, c.h); code != http.StatusUnauthorized {
			t.Errorf("%s: answered %d %s, want 401", c.name, code, answer)
		}
	}
	// The refused requests reached nothing: not the handler, not Slack.
	if n := s.slack.handled.Load() - before; n != 0 {
		t.Fatalf("%d refused requests were handled", n)
	}
	if n := len(fake.Calls("views.open")) + len(fake.Calls("chat.postEphemeral")); n != 0 {
		t.Fatalf("%d Slack calls after refused requests, want 0", n)
	}
	if code, _ := slackSignedRequest(t, s, body, now, testSigningSecret); code != http.StatusOK {
		t.Fatalf("the signed click answered %d", code)
	}
	slackNextView(t, fake, 1)
	if n := s.slack.handled.Load() - before; n != 1 {
		t.Fatalf("%d requests handled, want the signed one", n)
	}
}

// TestSlackOnlyTheOwnerCounts: a click from anyone but the owner is refused
// at once; a submission from anyone but the owner is refused by the
// workflow; neither changes the deal, and the clicker learns why.
func TestSlackOnlyTheOwnerCounts(t *testing.T) {
	s, fake := slackServer(t, nil)
	id := "sl-auth"
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	msg := slackTicketMessage(t, fake, "discovery", activities.ActionApprove)

	slackClick(t, s, dealtest.AE, msg, activities.ActionApprove)
	slackWantContains(t, "the AE's ephemeral", slackNextEphemeral(t, fake, dealtest.AE, 1), "Only <@U_PRESALES> signs off the discovery ticket")

	// The owner's modal, submitted by someone else: the workflow decides.
	slackClick(t, s, dealtest.Presales, msg, activities.ActionApprove)
	view := slackNextView(t, fake, 1)
	slackInteract(t, s, slackfake.ViewSubmission(dealtest.AE, view, deliverable("https://docs.example.com/stolen")...))
	slackWantContains(t, "the AE's second ephemeral", slackNextEphemeral(t, fake, dealtest.AE, 2), "Not taken: only the ticket owner U_PRESALES can sign off discovery")

	r := slackRecord(t, s, id)
	tk := slackTicket(r, "discovery")
	if r.Stage != deal.Discovery || tk.Status != "open" || tk.InternalApproved {
		t.Fatalf("after refused clicks: stage %s, ticket %s, approved %v", r.Stage, tk.Status, tk.InternalApproved)
	}
	for _, so := range tk.Signoffs {
		if !so.Refused {
			t.Fatalf("a sign-off counted: %+v", so)
		}
	}
	if n := len(fake.Calls("views.open")); n != 1 {
		t.Fatalf("%d modals opened, want only the owner's", n)
	}
}

// TestSlackDoubleClickRecordsOnce: a double click opens two modals, and
// submitting either, twice, records one sign-off; a click on the closed
// ticket changes nothing.
func TestSlackDoubleClickRecordsOnce(t *testing.T) {
	s, fake := slackServer(t, nil)
	id := "sl-double"
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	msg := slackTicketMessage(t, fake, "discovery", activities.ActionApprove)
	slackClick(t, s, dealtest.Presales, msg, activities.ActionApprove)
	slackClick(t, s, dealtest.Presales, msg, activities.ActionApprove)
	v1, v2 := slackNextView(t, fake, 1), slackNextView(t, fake, 2)
	in := deliverable("https://docs.example.com/discovery")
	slackInteract(t, s, slackfake.ViewSubmission(dealtest.Presales, v1, in...))
	slackInteract(t, s, slackfake.ViewSubmission(dealtest.Presales, v1, in...))
	slackInteract(t, s, slackfake.ViewSubmission(dealtest.Presales, v2, in...))
	var answers []string
	for i := 1; i <= 3; i++ {
		answers = append(answers, slackNextEphemeral(t, fake, dealtest.Presales, i))
	}
	// Whichever modal lands first approves (Done) and the other is
	// already recorded. v1 submitted again (Slack's retry) carries v1's
	// idempotency key and gets v1's first answer, whichever that was: so
	// two Done and one repeat when v1 lands first, one Done and two
	// repeats when v2 does; either way the ticket holds one sign-off.
	all := strings.Join(answers, "\n")
	done, already := strings.Count(all, "Done: you approved the discovery ticket"), strings.Count(all, "Already recorded")
	if done < 1 || done > 2 || done+already != 3 {
		t.Fatalf("answers to three submissions of one approval:\n%s", all)
	}
	r := slackRecord(t, s, id)
	tk := slackTicket(r, "discovery")
	if tk.Status != "closed" || len(tk.Signoffs) != 1 || r.Stage != deal.Scoping {
		t.Fatalf("ticket %s with %d sign-offs, stage %s; want closed with 1, scoping", tk.Status, len(tk.Signoffs), r.Stage)
	}

	// The stale button, clicked after the ticket closed.
	slackClick(t, s, dealtest.Presales, msg, activities.ActionApprove)
	slackWantContains(t, "a click on the closed ticket", slackNextEphemeral(t, fake, dealtest.Presales, 4), "already closed")
	if n := len(fake.Calls("views.open")); n != 2 {
		t.Fatalf("%d modals, want 2", n)
	}
	// The original message lost its buttons and says who approved.
	updated := slackMessage(t, fake, "the discovery message updated", func(m slackfake.Message) bool {
		return m.TS == msg.TS && m.Updates > 0
	})
	if b := slackfake.Buttons(updated.Blocks); len(b) != 0 {
		t.Fatalf("discovery message still has buttons %v", b)
	}
	slackWantContains(t, "the discovery message", slackfake.Text(updated.Blocks), "<@U_PRESALES> approved <!date^")
}

// TestSlackUnknownDeal: a click or a submission about a deal with no
// workflow is answered with a clear message.
func TestSlackUnknownDeal(t *testing.T) {
	s, fake := slackServer(t, nil)
	b := slackfake.Button{ActionID: activities.ActionApprove, BlockID: "ticket", Text: "Approve",
		Value: activities.ButtonValue{Deal: "no-such-deal", Ticket: "discovery"}.String()}
	slackInteract(t, s, slackfake.BlockActions(dealtest.Presales, "C_DEALS", "1700000000.000001", "trigger-x", b, "1700000100.000009"))
	slackWantContains(t, "ephemeral", slackNextEphemeral(t, fake, dealtest.Presales, 1), "Deal `no-such-deal` is unknown or already closed")

	meta := modalMeta{Deal: "no-such-deal", Ticket: "discovery", Side: "internal", Decision: "approve", Channel: "C_DEALS", TS: "1700000000.000001"}
	slackInteract(t, s, slackfake.ViewSubmission(dealtest.Presales, opened(t, signoffModal(meta, discovery, "x")), deliverable("https://x.example.com")...))
	slackWantContains(t, "ephemeral", slackNextEphemeral(t, fake, dealtest.Presales, 2), "Deal `no-such-deal` is unknown or already closed")
	if n := len(fake.Calls("views.open")); n != 0 {
		t.Fatalf("%d modals opened for an unknown deal", n)
	}
}

// TestSlackClickAfterRestart: a click on a message posted before the worker
// restarted works: buttons and modals carry all they need, and the
// message's channel and ts are in PostgreSQL.
func TestSlackClickAfterRestart(t *testing.T) {
	s1, fake := slackServer(t, nil)
	id := "sl-restart"
	openDeal(t, s1, dealtest.Terms(id, time.Now()))
	msg := slackTicketMessage(t, fake, "discovery", activities.ActionApprove)
	slackClick(t, s1, dealtest.Presales, msg, activities.ActionApprove)
	view := slackNextView(t, fake, 1)
	dbURL, queue := s1.cfg.DatabaseURL, s1.TaskQueue()
	s1.Stop()

	s2 := startServer(t, func(c *Config) {
		c.DatabaseURL, c.TaskQueue = dbURL, queue
		c.Slack = SlackConfig{BotToken: testBotToken, SigningSecret: testSigningSecret, APIURL: fake.APIURL()}
	})
	slackInteract(t, s2, slackfake.ViewSubmission(dealtest.Presales, view, deliverable("https://docs.example.com/d")...))
	slackWantContains(t, "ephemeral", slackNextEphemeral(t, fake, dealtest.Presales, 1), "Done: you approved the discovery ticket")
	slackMessage(t, fake, "the discovery message updated by the restarted worker", func(m slackfake.Message) bool {
		return m.TS == msg.TS && m.Updates > 0 && len(slackfake.Buttons(m.Blocks)) == 0
	})
}

// TestSlackSocketMode: with SLACK_APP_TOKEN the worker opens a Socket Mode
// connection, and clicks arriving over it end in the same handler. With no
// signing secret the HTTP endpoint refuses everything.
func TestSlackSocketMode(t *testing.T) {
	s, fake, sock := socketServer(t)
	id := "sl-socket"
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	msg := slackTicketMessage(t, fake, "discovery", activities.ActionApprove)
	b, _ := slackfake.FindButton(msg.Blocks, activities.ActionApprove)

	sock.SendInteractive("env-1", slackfake.BlockActions(dealtest.Presales, msg.Channel, msg.TS, "trigger-sock", b, "1700000100.000100"))
	if a := nextAck(t, sock); a.EnvelopeID != "env-1" {
		t.Fatalf("ack for %q, want env-1", a.EnvelopeID)
	}
	view := slackNextView(t, fake, 1)
	sock.SendInteractive("env-2", slackfake.ViewSubmission(dealtest.Presales, view, deliverable("https://docs.example.com/d")...))
	if a := nextAck(t, sock); a.EnvelopeID != "env-2" {
		t.Fatalf("ack for %q, want env-2", a.EnvelopeID)
	}
	slackWantContains(t, "ephemeral", slackNextEphemeral(t, fake, dealtest.Presales, 1), "Done: you approved the discovery ticket")
	if r := slackRecord(t, s, id); r.Stage != deal.Scoping {
		t.Fatalf("stage %s after the Socket Mode sign-off, want scoping", r.Stage)
	}

	// Without a signing secret nothing over HTTP is taken, signed or not.
	if code, _ := slackSignedRequest(t, s, slackfake.Body(slackfake.BlockActions(dealtest.Presales, msg.Channel, msg.TS, "t", b, "1")),
		time.Now().Unix(), testSigningSecret); code != http.StatusUnauthorized {
		t.Fatalf("HTTP click without a signing secret answered %d, want 401", code)
	}
	if sock.Connections() != 1 {
		t.Fatalf("%d Socket Mode connections, want 1", sock.Connections())
	}

	// An empty approval comes back as an error shown in the modal.
	sock.SendInteractive("env-3", slackfake.ViewSubmission(dealtest.Presales, view))
	a := nextAck(t, sock)
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	_ = json.Unmarshal(a.Payload, &resp)
	if a.EnvelopeID != "env-3" || resp.ResponseAction != "errors" || resp.Errors[blockURL] == "" {
		t.Fatalf("ack %s %s, want the modal's input error", a.EnvelopeID, a.Payload)
	}
}

// socketServer is a server taking clicks over Socket Mode from a fake
// endpoint, with the fake Web API behind it.
func socketServer(t *testing.T) (*Server, *slackfake.Server, *slackfake.Socket) {
	sock := slackfake.NewSocket()
	t.Cleanup(sock.Close)
	fake := slackfake.New(testBotToken)
	t.Cleanup(fake.Close)
	fake.AppToken, fake.SocketURL = "xapp-test-token", sock.WSURL()
	s := startServer(t, func(c *Config) {
		c.Slack = SlackConfig{BotToken: testBotToken, AppToken: "xapp-test-token", APIURL: fake.APIURL()}
	})
	return s, fake, sock
}

func nextAck(t *testing.T, sock *slackfake.Socket) slackfake.Ack {
	t.Helper()
	select {
	case a := <-sock.Acks():
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no Socket Mode acknowledgement")
	}
	return slackfake.Ack{}
}

// deliverable fills the approval modal with a link and notes.
func deliverable(url string) []slackfake.Input {
	return []slackfake.Input{
		{BlockID: blockURL, ActionID: actionURL, Type: "url_text_input", Value: url},
		{BlockID: blockNotes, ActionID: actionNotes, Value: "Notes for " + url},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestSlackClosingDecision: only the AE closes. Another person's Won is
// refused by the workflow, their Lost at once; the AE's Lost asks for the
// reason and settles the message. Sign-offs sent as signals (the CLI's way)
// update the ticket messages like clicks do.
func TestSlackClosingDecision(t *testing.T) {
	s, fake := slackServer(t, nil)
	id := "sl-close"
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	send(t, s, id, dealtest.ToClosing()...)
	cl := slackMessage(t, fake, "the closing message", func(m slackfake.Message) bool {
		_, ok := slackfake.FindButton(m.Blocks, activities.ActionCloseWon)
		return ok
	})

	slackClick(t, s, dealtest.PM, cl, activities.ActionCloseWon)
	slackWantContains(t, "the PM's Won", slackNextEphemeral(t, fake, dealtest.PM, 1), "Not taken: only the AE U_AE can close the deal")
	slackClick(t, s, dealtest.PM, cl, activities.ActionCloseLost)
	slackWantContains(t, "the PM's Lost", slackNextEphemeral(t, fake, dealtest.PM, 2), "Only <@U_AE> closes this deal")
	if r := slackRecord(t, s, id); r.Stage != deal.Closing {
		t.Fatalf("stage %s after the PM's clicks, want closing", r.Stage)
	}

	slackClick(t, s, dealtest.AE, cl, activities.ActionCloseLost)
	view := slackNextView(t, fake, 1)
	slackInteract(t, s, slackfake.ViewSubmission(dealtest.AE, view, slackfake.Input{BlockID: blockReason, ActionID: actionReason, Value: "Budget moved to next year"}))
	slackWantContains(t, "the AE's Lost", slackNextEphemeral(t, fake, dealtest.AE, 1), "Done: the deal is closed lost")
	if r := slackRecord(t, s, id); r.Stage != deal.ClosedLost || r.Close.Reason != "Budget moved to next year" {
		t.Fatalf("stage %s close %+v", r.Stage, r.Close)
	}
	settled := slackMessage(t, fake, "the closing message settled", func(m slackfake.Message) bool {
		return m.TS == cl.TS && len(slackfake.Buttons(m.Blocks)) == 0
	})
	slackWantContains(t, "closing message", slackfake.Text(settled.Blocks), "Closed *lost* by <@U_AE>")
	slackWantContains(t, "closing message", slackfake.Text(settled.Blocks), "Budget moved to next year")
	dealtest.Eventually(t, "every ticket message to lose its buttons", func() bool {
		for _, m := range fake.Messages() {
			if len(slackfake.Buttons(m.Blocks)) > 0 {
				return false
			}
		}
		return len(fake.Messages()) > 0
	})
}

// TestSlackStopWaitsForClicks: Stop lets a click being handled finish
// instead of cancelling it, and starts no new work once it has begun.
func TestSlackStopWaitsForClicks(t *testing.T) {
	s, _ := slackServer(t, nil)
	a := s.slack
	started, release := make(chan struct{}), make(chan struct{})
	var cancelled, late atomic.Bool
	a.async(func(ctx context.Context) {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
		cancelled.Store(ctx.Err() != nil)
	})
	<-started
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	dealtest.Eventually(t, "Stop to begin", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.stopping
	})
	a.async(func(context.Context) { late.Store(true) })
	select {
	case <-stopped:
		t.Fatal("Stop returned while a click was being handled")
	default:
	}
	close(release)
	<-stopped
	if cancelled.Load() {
		t.Fatal("Stop cancelled the click being handled instead of waiting for it")
	}
	if late.Load() {
		t.Fatal("a click arriving while stopping was handled")
	}
}

// A form Slack refuses for its content would be refused again: the clicker
// is not told to click again.
func TestSlackRefusedFormSaysSo(t *testing.T) {
	s, fake := slackServer(t, nil)
	openDeal(t, s, dealtest.Terms("sl-refused-form", time.Now()))
	msg := slackTicketMessage(t, fake, "discovery", activities.ActionApprove)
	fake.Fail("views.open", "invalid_arguments")
	slackClick(t, s, dealtest.Presales, msg, activities.ActionApprove)
	told := slackNextEphemeral(t, fake, dealtest.Presales, 1)
	slackWantContains(t, "the refused form's answer", told, "clicking again will not change that")
}
