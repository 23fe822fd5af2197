package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/slack-go/slack"

	"dealflow/hubspot"
)

// The HubSpot bridge in the worker (docs/hubspot.md): off unless
// HUBSPOT_TOKEN and HUBSPOT_CLIENT_SECRET are set.

// startHubSpot makes the bridge and runs it until Stop. Every worker runs
// one; the one holding the firm's lock works.
func (s *Server) startHubSpot() error {
	cfg := s.cfg.HubSpot
	if !cfg.On() {
		return nil
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	if s.cfg.Slack.BotToken == "" {
		return errors.New("HubSpot is on but SLACK_BOT_TOKEN is not set: the bridge finds each person in Slack by email (users.lookupByEmail); set it or unset HUBSPOT_TOKEN")
	}
	s.hubspot = hubspot.New(cfg, s.Store, s.Client, s.cfg.TaskQueue, slackPeople{s.slackApp().api}, s.log)
	if s.cfg.HubSpotPollEvery > 0 {
		s.hubspot.PollEvery = s.cfg.HubSpotPollEvery
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.hubspot.Run(ctx) }()
	s.stopHubSpot = func() { cancel(); <-done }
	return nil
}

// mountHubSpot is the bridge's one route. Its auth is HubSpot's v3
// signature, checked by the handler itself.
// ROUTE TABLE: POST /hubspot/webhook, auth: HubSpot v3 signature (HUBSPOT_CLIENT_SECRET).
func (s *Server) mountHubSpot(mux *http.ServeMux) {
	if s.hubspot == nil {
		return
	}
	mux.Handle("POST /hubspot/webhook", &hubspot.Webhook{Secret: s.cfg.HubSpot.ClientSecret, BaseURL: s.cfg.BaseURL,
		Store: s.Store, Log: s.log, Nudge: s.hubspot.Nudge})
}

// slackPeople finds people in Slack by email.
type slackPeople struct{ api *slack.Client }

func (p slackPeople) SlackUserByEmail(ctx context.Context, email string) (string, error) {
	u, err := p.api.GetUserByEmailContext(ctx, email)
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "users_not_found" {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return u.ID, nil
}
