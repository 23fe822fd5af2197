package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"

	"dealflow/activities"
	"dealflow/clientlink"
	"dealflow/db"
)

// slackApp is dealflow's Slack app inside the worker: the notifier that
// posts, and the handler of clicks arriving over HTTP or Socket Mode.
type slackApp struct {
	cfg      SlackConfig
	api      *slack.Client
	temporal client.Client
	// store is where clicks read the deal: PostgreSQL answers inside
	// Slack's three seconds whatever the deal's size.
	store *db.Store
	log   *slog.Logger
	// links issues client links for the owner's "Link for the client"
	// click; nil while they are off. baseURL prefixes the link.
	links   *clientlink.Links
	baseURL string
	// ctx lives as long as the server: Socket Mode and the work started by
	// clicks run under it, and Stop cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts Socket Mode's connection, which ends when ctx is cancelled.
	wg sync.WaitGroup
	// taking counts Socket Mode's event reader, which stopTaking ends
	// first when stopping (nil without Socket Mode).
	taking     sync.WaitGroup
	stopTaking context.CancelFunc
	// stoppedTaking, when set (tests), runs once no event is taken any more.
	stoppedTaking func()
	// clicks counts the work started by clicks, which Stop lets finish
	// before cancelling ctx; once stopping, no new work starts.
	clicks   sync.WaitGroup
	mu       sync.Mutex
	stopping bool
	// handled counts the interactions taken (signed and decoded): what a
	// refused request must never reach.
	handled atomic.Int64
}

// slackApp is created on first use: by notifier() when the worker starts,
// or by mountSlack.
func (s *Server) slackApp() *slackApp {
	if s.slack == nil {
		ctx, cancel := context.WithCancel(context.Background())
		// The app-level token is used only to open Socket Mode connections.
		api := activities.NewSlackClient(s.cfg.Slack.BotToken, s.cfg.Slack.APIURL, slack.OptionAppLevelToken(s.cfg.Slack.AppToken))
		s.slack = &slackApp{cfg: s.cfg.Slack, api: api,
			temporal: s.Client, store: s.Store, log: s.log, ctx: ctx, cancel: cancel, links: s.links, baseURL: s.cfg.BaseURL}
		if s.cfg.Slack.SigningSecret == "" && s.cfg.Slack.AppToken == "" && s.cfg.Slack.BotToken != "" {
			s.log.Warn("SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET nor SLACK_APP_TOKEN: messages are posted, clicks on them are refused")
		}
	}
	return s.slack
}

// slackNotifier posts to Slack, keeping each message's channel and ts in
// PostgreSQL.
func (s *Server) slackNotifier() activities.Notifier {
	return &activities.SlackNotifier{API: s.slackApp().api, Store: s.Store, Log: s.log, Render: activities.Renderer{BaseURL: s.cfg.BaseURL,
		ClientLinks: s.links != nil}}
}

// clickTimeout bounds the work of one click.
const clickTimeout = 30 * time.Second

// clickGrace is how long Stop lets clicks being handled finish before it
// cancels them: as long as a click may take, since every click it waits
// for was acknowledged to Slack.
const clickGrace = clickTimeout

// stopSlack first stops taking events over Socket Mode (the HTTP server is
// already shut down), then lets the clicks taken finish (for clickGrace at
// most), then cancels what is left and ends Socket Mode.
func (s *Server) stopSlack() {
	a := s.slack
	if a == nil {
		return
	}
	if a.stopTaking != nil {
		a.stopTaking()
		if !waitFor(&a.taking, 5*time.Second) {
			s.log.Warn("slack: the Socket Mode reader did not stop")
		}
	}
	if a.stoppedTaking != nil {
		a.stoppedTaking()
	}
	a.mu.Lock()
	a.stopping = true
	a.mu.Unlock()
	if !waitFor(&a.clicks, clickGrace) {
		s.log.Warn("slack: clicks still being handled after the grace period; cancelling them", "grace", clickGrace)
	}
	a.cancel()
	if !waitFor(&a.wg, 5*time.Second) || !waitFor(&a.clicks, 5*time.Second) {
		s.log.Warn("slack: gave up waiting for Socket Mode and cancelled clicks to end")
	}
}

// waitFor waits for wg at most d and says whether it got to zero.
func waitFor(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// maxSlackBody bounds what is read before the signature is checked.
const maxSlackBody = 1 << 20

// serveInteractions checks Slack's signature over the raw body before
// anything is parsed: an unsigned, wrongly signed or stale request gets 401
// and nothing else happens. A signed one is answered at once; the work it
// asks for runs after the answer (see handle).
func (a *slackApp) serveInteractions(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSlackBody))
	if err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := a.verify(r.Header, body); err != nil {
		a.log.Warn("slack request refused", "remote", r.RemoteAddr, "error", err)
		http.Error(w, "request not signed by Slack", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "no interaction payload", http.StatusBadRequest)
		return
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		http.Error(w, "interaction payload does not decode", http.StatusBadRequest)
		return
	}
	resp, taken := a.handle(ic)
	if !taken {
		// Stopping: an answer other than 200 tells the clicker it failed,
		// instead of a click acknowledged and then dropped.
		http.Error(w, "dealflow is restarting; click again in a moment", http.StatusServiceUnavailable)
		return
	}
	if resp == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// verify checks X-Slack-Signature (v0, HMAC-SHA256 of "v0:{ts}:{body}"
// under the signing secret) and that X-Slack-Request-Timestamp is within
// five minutes, which keeps an old request from being replayed.
func (a *slackApp) verify(h http.Header, body []byte) error {
	if a.cfg.SigningSecret == "" {
		return errors.New("SLACK_SIGNING_SECRET is not set, so no request can be verified")
	}
	sv, err := slack.NewSecretsVerifier(h, a.cfg.SigningSecret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

// async runs work a click asked for after Slack has its answer: Slack
// wants one within 3 seconds, and a workflow update or a Web API call may
// take longer when either is slow.
func (a *slackApp) async(f func(ctx context.Context)) bool {
	// Under the lock, so no work starts once Stop has begun waiting.
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		a.log.Warn("slack: stopping, so a click is not taken; clicking again after the restart works")
		return false
	}
	a.clicks.Go(func() {
		ctx, cancel := context.WithTimeout(a.ctx, clickTimeout)
		defer cancel()
		f(ctx)
	})
	return true
}
