package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"dealflow/db"
	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/metrics"
)

// NewSlackClient is the Web API client for the bot token. apiURL replaces
// https://slack.com/api/ (SLACK_API_URL: tests, proxies); empty keeps it.
func NewSlackClient(token, apiURL string, more ...slack.Option) *slack.Client {
	opts := []slack.Option{slack.OptionHTTPClient(&http.Client{Timeout: 20 * time.Second})}
	if apiURL != "" {
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/"
		}
		opts = append(opts, slack.OptionAPIURL(apiURL))
	}
	return slack.New(token, append(opts, more...)...)
}

// SlackNotifier posts each notice to Slack and keeps the channel and ts of
// every message in slack_messages, so a later notice (a sign-off, the deal
// closing) updates the message instead of posting another.
//
// Slack is a view of the record: a message that cannot be posted fails the
// activity, which Temporal retries with backoff and at last drops; the deal
// never waits for Slack.
type SlackNotifier struct {
	API   *slack.Client
	Store *db.Store
	Log   *slog.Logger
	// Render builds the messages; its BaseURL makes "the deal page" a link.
	Render Renderer
}

func (s *SlackNotifier) Notify(ctx context.Context, n Notification) error {
	no := n.Notice
	r := s.Render
	switch {
	case no.Kind == deal.NoticeTicketOpened && no.Ticket != nil:
		return s.post(ctx, n, n.Key, n.Channel, MsgTicket, no.Ticket.ID, r.TicketMessage(n, *no.Ticket))
	case no.Kind == deal.NoticeSignoff && no.Ticket != nil:
		return s.refreshTicket(ctx, n)
	case no.Kind == deal.NoticeStageChanged && no.Change != nil:
		return s.stageChanged(ctx, n)
	case no.Kind == deal.NoticeHandoverOpened:
		return s.handoverOpened(ctx, n)
	case no.Kind == deal.NoticeIncident && no.Incident != nil:
		return s.post(ctx, n, n.Key, n.Channel, MsgIncident, "", r.IncidentMessage(n))
	case no.Kind == deal.NoticeMarginAlert && no.Alert != nil:
		return s.post(ctx, n, n.Key, n.Channel, MsgMargin, "", r.MarginMessage(n))
	case no.Question != nil && (no.Kind == deal.NoticeQuestionAsked || no.Kind == deal.NoticeQuestionEscalated ||
		no.Kind == deal.NoticeQuestionAnswered && no.Question.Answer != nil):
		return s.questionNotice(ctx, n) // slack_questions.go
	}
	s.Log.Warn("notice not shown in Slack: unknown kind or missing details", "deal", n.DealID, "key", n.Key, "kind", no.Kind)
	return nil
}

// handoverOpened sends the PM's interactive checklist to them directly and
// the same message read-only to the channel, where the AE is. Each post is
// tried whatever became of the other (each is kept once by its own key), so
// a PM who cannot be reached does not hide the handover from the channel.
// When the PM cannot be reached (a mistyped or deactivated PM), the
// channel gets the interactive copy instead: the handover stays visible,
// and the workflow still takes only the PM's sign-off. A message Slack
// refuses for its content says nothing about the PM: post has already sent
// the short version instead.
func (s *SlackNotifier) handoverOpened(ctx context.Context, n Notification) error {
	pm := n.People.PM
	dmErr := s.post(ctx, n, n.Key, pm, MsgHandover, "", s.Render.HandoverMessage(n, true))
	shown := s.Render.HandoverMessage(n, false)
	if unreachable(dmErr) {
		s.Log.Warn("the handover checklist cannot reach the PM directly; the channel gets the interactive copy", "deal", n.DealID, "pm", pm, "error", dmErr)
		shown = s.Render.HandoverMessage(n, true)
		warning := note(fmt.Sprintf(":warning: The checklist could not be sent to <@%s> directly; they sign off here.", pm))
		shown.Blocks = append(shown.Blocks, warning)
		shown.Short = append(shown.Short, warning)
	}
	return joinSlackErrors(dmErr, s.post(ctx, n, n.Key+"/channel", n.Channel, MsgHandover, "", shown))
}

// refreshTicket re-renders the ticket's message after a sign-off: the
// buttons it answered go, and it says who did what and when.
func (s *SlackNotifier) refreshTicket(ctx context.Context, n Notification) error {
	t := *n.Notice.Ticket
	rows, err := s.Store.Queries().FindSlackMessages(ctx, dbq.FindSlackMessagesParams{DealID: n.DealID, Kind: MsgTicket, TicketID: t.ID})
	if err != nil {
		return err
	}
	m := s.Render.TicketMessage(n, t)
	if len(rows) == 0 {
		// The ticket's message was never posted (Slack was down for longer
		// than the retries); post it now, as it stands.
		return s.post(ctx, n, n.Key, n.Channel, MsgTicket, t.ID, m)
	}
	for _, row := range rows {
		if err := s.update(ctx, row, m); err != nil {
			return err
		}
	}
	return nil
}

// stageChanged settles the message whose decision moved the stage, then
// announces the new stage.
func (s *SlackNotifier) stageChanged(ctx context.Context, n Notification) error {
	c := n.Notice.Change
	var err error
	switch {
	case c.From == deal.Closing:
		err = s.settle(ctx, n, MsgClosing, "", ClosedOutcome(n))
	case c.From == deal.Handover:
		err = s.settle(ctx, n, MsgHandover, "", HandoverOutcome(n))
	case c.To == deal.ClosedLost && slices.Contains([]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing}, c.From):
		err = s.settle(ctx, n, MsgTicket, string(c.From), CancelledOutcome(n))
	}
	if err != nil {
		return err
	}
	m, kind := s.Render.StageMessage(n)
	return s.post(ctx, n, n.Key, n.Channel, kind, "", m)
}

// settle takes the buttons off every message about one thing, keeping
// what it showed and adding the outcome.
func (s *SlackNotifier) settle(ctx context.Context, n Notification, kind, ticketID, outcome string) error {
	rows, err := s.Store.Queries().FindSlackMessages(ctx, dbq.FindSlackMessagesParams{DealID: n.DealID, Kind: kind, TicketID: ticketID})
	if err != nil {
		return err
	}
	for _, row := range rows {
		var shown slack.Blocks
		if err := json.Unmarshal(row.Blocks, &shown); err != nil {
			return fmt.Errorf("slack message %s/%s: stored blocks do not decode: %w", row.DealID, row.NoticeKey, err)
		}
		if err := s.update(ctx, row, Settled(SlackMessage{Text: row.Text, Blocks: shown.BlockSet}, slackSummary(n), outcome)); err != nil {
			return err
		}
	}
	return nil
}

// post sends a message once: a retried activity finds the key in
// slack_messages and posts nothing. (A crash between Slack's answer and the
// row being written would post twice; Slack offers no idempotency key.)
func (s *SlackNotifier) post(ctx context.Context, n Notification, key, channel, kind, ticketID string, m SlackMessage) error {
	if channel == "" {
		s.Log.Warn("deal has no Slack channel; message not posted", "deal", n.DealID, "key", key, "text", m.Text)
		return nil
	}
	q := s.Store.Queries()
	_, err := q.GetSlackMessage(ctx, dbq.GetSlackMessageParams{DealID: n.DealID, NoticeKey: key})
	if err == nil {
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	var ch, ts string
	m, err = s.shortened(n, key, m, func(m SlackMessage) error {
		return SlackCall(ctx, func() (err error) {
			ch, ts, err = s.API.PostMessageContext(ctx, channel, slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...))
			return err
		})
	})
	if err != nil {
		return slackFailure("chat.postMessage", err)
	}
	blocks, err := json.Marshal(m.Blocks)
	if err != nil {
		return err
	}
	return q.UpsertSlackMessage(ctx, dbq.UpsertSlackMessageParams{DealID: n.DealID, NoticeKey: key, Channel: ch, Ts: ts,
		Kind: kind, TicketID: ticketID, Text: m.Text, Blocks: blocks})
}

// update replaces a posted message's content. A message someone deleted is
// skipped: there is nothing left to update.
func (s *SlackNotifier) update(ctx context.Context, row dbq.SlackMessage, m SlackMessage) error {
	m, err := s.shortened(Notification{DealID: row.DealID}, row.NoticeKey, m, func(m SlackMessage) error {
		return SlackCall(ctx, func() error {
			_, _, _, err := s.API.UpdateMessageContext(ctx, row.Channel, row.Ts, slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...))
			return err
		})
	})
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && (se.Err == "message_not_found" || se.Err == "channel_not_found") {
		s.Log.Warn("slack message to update is gone", "deal", row.DealID, "key", row.NoticeKey, "error", se.Err)
		return nil
	}
	if err != nil {
		return slackFailure("chat.update", err)
	}
	blocks, err := json.Marshal(m.Blocks)
	if err != nil {
		return err
	}
	return s.Store.Queries().SetSlackMessageContent(ctx, dbq.SetSlackMessageContentParams{DealID: row.DealID, NoticeKey: row.NoticeKey,
		Text: m.Text, Blocks: blocks})
}

// shortened sends m, and when Slack refuses it for its content sends its
// short version instead. It returns what was sent, which is what the
// message shows.
func (s *SlackNotifier) shortened(n Notification, key string, m SlackMessage, send func(SlackMessage) error) (SlackMessage, error) {
	err := send(m)
	if !ContentRefused(err) || len(m.Short) == 0 {
		return m, err
	}
	s.Log.Warn("slack refused a message for its content; sending its short version", "deal", n.DealID, "key", key, "error", err)
	m = SlackMessage{Text: m.Text, Blocks: m.Short}
	return m, send(m)
}

// SlackCall runs one Web API call, waiting out Slack's rate limit: a 429 is
// retried after its Retry-After. When the wait would outlast ctx the error
// is returned, and the caller's own retries (Temporal's, for activities)
// take over.
func SlackCall(ctx context.Context, call func() error) error {
	for {
		err := call()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		wait := max(rl.RetryAfter, time.Second)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// permanentSlackErrors will not heal by retrying; the notice is dropped at
// once rather than after every retry.
var permanentSlackErrors = append([]string{"is_archived", "invalid_auth", "not_authed",
	"account_inactive", "token_revoked", "missing_scope", "cant_update_message"}, append(unreachableSlackErrors, contentSlackErrors...)...)

// unreachableSlackErrors say that the person or channel cannot be written
// to at all; only these make the handover look for another way to the PM.
var unreachableSlackErrors = []string{"user_not_found", "channel_not_found", "cannot_dm_bot", "user_disabled", "not_in_channel"}

// contentSlackErrors say that Slack will not take what was sent, whoever it
// was for.
var contentSlackErrors = []string{"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "msg_too_long", "no_text",
	"invalid_arguments", "invalid_attachments", "too_many_attachments"}

func slackErrorIn(err error, codes []string) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && slices.Contains(codes, se.Err)
}

// ContentRefused is true when Slack refused a call for what it carried
// (blocks, text, a view), which sending the same again cannot change.
func ContentRefused(err error) bool { return slackErrorIn(err, contentSlackErrors) }

func unreachable(err error) bool { return slackErrorIn(err, unreachableSlackErrors) }

// permanent is true for an error slackFailure marked as not worth retrying.
func permanent(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.NonRetryable()
}

// joinSlackErrors combines the errors of posts made for one notice. It is
// permanent only when every failure is: Temporal reads retryability off the
// returned error itself, not off errors wrapped in it, so one failure that
// may heal keeps the activity retrying (posts already made are not repeated).
func joinSlackErrors(errs ...error) error {
	err := errors.Join(errs...)
	if err == nil {
		return nil
	}
	for _, e := range errs {
		if e != nil && !permanent(e) {
			return err
		}
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), "SlackPermanentError", err)
}

func slackFailure(method string, err error) error {
	metrics.SlackFailure(method)
	var se slack.SlackErrorResponse
	if slackErrorIn(err, permanentSlackErrors) && errors.As(err, &se) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("slack %s: %s", method, se.Err), "SlackPermanentError", err)
	}
	return fmt.Errorf("slack %s: %w", method, err)
}
