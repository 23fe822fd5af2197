package server

import (
	"context"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// startSocketMode connects to Slack over Socket Mode when SLACK_APP_TOKEN
// is set: for firms that cannot expose a public URL. Slack then delivers
// clicks over a WebSocket the worker opens, and they end in the same
// handler as the HTTP ones. The connection lives until Stop, which first
// stops taking events (stopTaking), so nothing is acknowledged that will
// not be handled.
func (s *Server) startSocketMode() {
	if s.cfg.Slack.AppToken == "" {
		return
	}
	a := s.slackApp()
	sm := socketmode.New(a.api)
	taking, stop := context.WithCancel(a.ctx)
	a.stopTaking = stop
	a.wg.Go(func() { a.runSocketMode(sm) })
	a.taking.Go(func() { a.socketEvents(taking, sm) })
}

// runSocketMode keeps the connection up. RunContext reconnects by itself
// when Slack asks; it returns on errors it cannot heal (a bad token), which
// are logged and retried slowly, since a fixed token needs no restart.
func (a *slackApp) runSocketMode(sm *socketmode.Client) {
	wait := 5 * time.Second
	for {
		err := sm.RunContext(a.ctx)
		if a.ctx.Err() != nil {
			return
		}
		a.log.Error("slack socket mode stopped; reconnecting", "error", err, "in", wait)
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Minute)
	}
}

// socketEvents hands interactions to the shared handler and acknowledges
// each one it took; the acknowledgement carries what the HTTP answer would
// (input errors for a modal). Once ctx ends it takes no more events: those
// left unread are never acknowledged, and Slack sends them again.
func (a *slackApp) socketEvents(ctx context.Context, sm *socketmode.Client) {
	for {
		var evt socketmode.Event
		select {
		case <-ctx.Done():
			return
		case evt = <-sm.Events:
		}
		switch evt.Type {
		case socketmode.EventTypeConnected:
			a.log.Info("slack socket mode connected")
		case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
			a.log.Warn("slack socket mode cannot connect", "event", evt.Type)
		case socketmode.EventTypeInteractive:
			var resp any
			if ic, ok := evt.Data.(slack.InteractionCallback); ok {
				var taken bool
				if resp, taken = a.handle(ic); !taken {
					continue // stopping: not acknowledged, so Slack sends it again
				}
			}
			a.ack(sm, evt, resp)
		case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
			// Not used by dealflow; acknowledged so Slack does not resend.
			a.ack(sm, evt, nil)
		}
	}
}

func (a *slackApp) ack(sm *socketmode.Client, evt socketmode.Event, resp any) {
	if evt.Request == nil {
		return
	}
	if err := sm.AckCtx(a.ctx, evt.Request.EnvelopeID, resp); err != nil {
		a.log.Warn("slack socket mode: acknowledging a request", "error", err)
	}
}
