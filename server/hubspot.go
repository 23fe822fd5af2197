package server

import (
	"context"
	"errors"
	"net/http"

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
	s.hubspot = hubspot.New(cfg, s.Store, s.Client, s.cfg.TaskQueue, hubspotPeople{s}, s.log)
	if s.cfg.HubSpotPollEvery > 0 {
		s.hubspot.PollEvery = s.cfg.HubSpotPollEvery
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.hubspot.Run(ctx) }()
	s.stopHubSpot = func() { cancel(); <-done }
	return nil
}

// hubspotWebhook is the bridge's one route (routeTable): its auth is
// HubSpot's v3 signature, checked by the handler itself.
func (s *Server) hubspotWebhook() http.Handler {
	return &hubspot.Webhook{Secret: s.cfg.HubSpot.ClientSecret, BaseURL: s.cfg.BaseURL,
		Store: s.Store, Log: s.log, Nudge: s.hubspot.Nudge}
}

// hubspotPeople finds the bridge's people in Slack by email, through the
// worker's one cached lookup (slackUserOf); someone not in Slack is no one
// (the bridge then lists them as missing).
type hubspotPeople struct{ s *Server }

func (p hubspotPeople) SlackUserByEmail(ctx context.Context, email string) (string, error) {
	id, err := p.s.slackUserOf(ctx, email)
	if errors.Is(err, errNotInSlack) {
		return "", nil
	}
	return id, err
}
