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

	"dealflow/activities/failpoint"
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

// post sends a message exactly once, however its attempts end:
//
//  1. A notice already in slack_messages was posted: nothing to do.
//  2. The post is reserved in slack_posts and leased to this attempt until
//     after its time-out, so two attempts at it, such as an old run still
//     sending what the next run sends too, never post side by side: the
//     second fails and is retried once the lease is released or runs out.
//     (No connection is held while Slack answers.)
//  3. The post is marked in doubt just before
//     the request goes out; a clear refusal (Slack's ok=false, a 429)
//     clears the doubt.
//  4. An attempt that finds the post in doubt (an earlier one timed out,
//     got a 5xx, or died before recording) looks for the message in the
//     channel's history by the notice key its metadata carries, and
//     records what it finds instead of posting again.
//
// The earlier attempt's request is over by then: Temporal retries only
// after the attempt's time-out, and the Slack client's own time-out is
// shorter.
func (s *SlackNotifier) post(ctx context.Context, n Notification, key, channel, kind, ticketID string, m SlackMessage) error {
	if channel == "" {
		s.Log.Warn("deal has no Slack channel; message not posted", "deal", n.DealID, "key", key, "text", m.Text)
		return nil
	}
	q := s.Store.Queries()
	res, release, err := s.lease(ctx, n.DealID, key, channel)
	if err != nil {
		return err
	}
	defer release()
	if done, err := recorded(ctx, q, n.DealID, key); done || err != nil {
		return err
	}
	if res.InDoubt {
		found, err := s.find(ctx, n.DealID, key, channel, res.ReservedAt)
		if err != nil {
			return slackFailure("conversations.history", err)
		}
		if found != nil {
			s.Log.Info("slack message found by its notice key; not posted again", "deal", n.DealID, "key", key, "ts", found.ts)
			return record(ctx, q, n.DealID, key, kind, ticketID, found.channel, found.ts, found.SlackMessage)
		}
	}
	meta := slack.MsgOptionMetadata(slack.SlackMetadata{EventType: NoticeEventType,
		EventPayload: map[string]any{"deal_id": n.DealID, "key": key}})
	var ch, ts string
	m, err = s.shortened(n, key, m, func(m SlackMessage) error {
		return SlackCall(ctx, func() error {
			if err := q.MarkSlackPostInDoubt(ctx, dbq.MarkSlackPostInDoubtParams{DealID: n.DealID, NoticeKey: key, InDoubt: true}); err != nil {
				return err
			}
			var err error
			ch, ts, err = s.API.PostMessageContext(ctx, channel, slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...), meta)
			if clearlyRefused(err) {
				if err := q.MarkSlackPostInDoubt(ctx, dbq.MarkSlackPostInDoubtParams{DealID: n.DealID, NoticeKey: key, InDoubt: false}); err != nil {
					return err
				}
			}
			return err
		})
	})
	if err != nil {
		return slackFailure("chat.postMessage", err)
	}
	failpoint.Hit("notify/posted")
	return record(ctx, q, n.DealID, key, kind, ticketID, ch, ts, m)
}

// NoticeEventType is the event_type of the metadata on every message a
// notice posts; its payload holds deal_id and key.
const NoticeEventType = "dealflow_notice"

// recorded is true when the notice's message is in slack_messages.
func recorded(ctx context.Context, q *dbq.Queries, dealID, key string) (bool, error) {
	_, err := q.GetSlackMessage(ctx, dbq.GetSlackMessageParams{DealID: dealID, NoticeKey: key})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// record keeps a posted message, so the notice is never posted again and
// later notices can update it.
func record(ctx context.Context, q *dbq.Queries, dealID, key, kind, ticketID, channel, ts string, m SlackMessage) error {
	blocks, err := json.Marshal(m.Blocks)
	if err != nil {
		return err
	}
	return q.UpsertSlackMessage(ctx, dbq.UpsertSlackMessageParams{DealID: dealID, NoticeKey: key, Channel: channel, Ts: ts,
		Kind: kind, TicketID: ticketID, Text: m.Text, Blocks: blocks})
}

// ErrNoticeBusy is the error type of an attempt that found another attempt
// posting the same notice; Temporal retries it.
const ErrNoticeBusy = "SlackNoticeBusy"

// leaseMargin is how long a lease outlives its attempt's deadline: the
// attempt's request is over by then.
const leaseMargin = 10 * time.Second

// lease reserves the notice's post and leases it to this attempt until
// after the attempt's deadline; the returned function releases it. The
// lease of an attempt that died runs out by itself.
func (s *SlackNotifier) lease(ctx context.Context, dealID, key, channel string) (dbq.SlackPost, func(), error) {
	until := time.Now().Add(2 * time.Minute)
	if dl, ok := ctx.Deadline(); ok {
		until = dl
	}
	q := s.Store.Queries()
	res, err := q.LeaseSlackPost(ctx, dbq.LeaseSlackPostParams{DealID: dealID, NoticeKey: key, Channel: channel, LeasedUntil: until.Add(leaseMargin)})
	if errors.Is(err, pgx.ErrNoRows) {
		return res, nil, temporal.NewApplicationError(fmt.Sprintf("notice %s/%s is being posted by another attempt", dealID, key), ErrNoticeBusy)
	}
	if err != nil {
		return res, nil, err
	}
	return res, func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		// A release that fails only makes the next attempt wait out the lease.
		_ = q.ReleaseSlackPost(ctx, dbq.ReleaseSlackPostParams{DealID: dealID, NoticeKey: key})
	}, nil
}

// clearlyRefused is true when Slack answered and took nothing: an ok=false
// answer or a 429. A time-out, a 5xx or a lost connection may have posted.
func clearlyRefused(err error) bool {
	var se slack.SlackErrorResponse
	var rl *slack.RateLimitedError
	return errors.As(err, &se) || errors.As(err, &rl)
}

// reconcileSkew is how far before a reservation the history is read, for
// clocks that disagree between PostgreSQL and Slack.
const reconcileSkew = 10 * time.Minute

// historyPage is how many messages one conversations.history call asks
// for: Slack's recommended page size (the maximum is 999, and 15 for apps
// distributed outside the Marketplace, which then page more).
const historyPage = 200

type foundMessage struct {
	SlackMessage
	channel, ts string
}

// find looks for the notice's message in the channel it was posted to, from
// shortly before its reservation on, by the key in its metadata. A post to
// a user id lands in the direct message with them, which is where it is
// looked for.
func (s *SlackNotifier) find(ctx context.Context, dealID, key, channel string, since time.Time) (*foundMessage, error) {
	conv := channel
	if strings.HasPrefix(channel, "U") || strings.HasPrefix(channel, "W") {
		err := SlackCall(ctx, func() error {
			c, _, _, err := s.API.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{channel}})
			if err == nil {
				conv = c.ID
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	from := since.Add(-reconcileSkew)
	p := slack.GetConversationHistoryParameters{ChannelID: conv, Oldest: fmt.Sprintf("%d.%06d", from.Unix(), from.Nanosecond()/1000),
		Inclusive: true, Limit: historyPage, IncludeAllMetadata: true}
	for {
		var page *slack.GetConversationHistoryResponse
		err := SlackCall(ctx, func() (err error) {
			page, err = s.API.GetConversationHistoryContext(ctx, &p)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, msg := range page.Messages {
			md := msg.Metadata
			if md.EventType == NoticeEventType && md.EventPayload["deal_id"] == dealID && md.EventPayload["key"] == key {
				return &foundMessage{SlackMessage: SlackMessage{Text: msg.Text, Blocks: msg.Blocks.BlockSet}, channel: conv, ts: msg.Timestamp}, nil
			}
		}
		p.Cursor = page.ResponseMetaData.NextCursor
		if !page.HasMore || p.Cursor == "" {
			return nil, nil
		}
	}
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
	failpoint.Hit("notify/updated")
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
