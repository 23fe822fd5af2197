package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"dealflow/activities/slackfake"
	"dealflow/db"
	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// slackNotifier is a SlackNotifier against a fake Web API and a fresh
// PostgreSQL database.
func slackNotifier(t *testing.T) (*SlackNotifier, *slackfake.Server) {
	t.Helper()
	ctx := context.Background()
	pool, err := db.Connect(ctx, testDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := db.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	fake := slackfake.New("xoxb-test")
	t.Cleanup(fake.Close)
	return &SlackNotifier{API: NewSlackClient("xoxb-test", fake.APIURL()), Store: &db.Store{Pool: pool},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, fake
}

func ticketOpened(key string, tk deal.Ticket) Notification {
	n := note1(deal.NoticeTicketOpened)
	n.Key, n.Notice.Ticket = key, &tk
	return n
}

func stageChanged(key string, from, to deal.Stage, by, reason string) Notification {
	n := note1(deal.NoticeStageChanged)
	n.Key, n.Notice.Change = key, &deal.StageChange{From: from, To: to, At: at, By: by, Reason: reason}
	return n
}

func TestSlackNotifierPostsOnceAndUpdatesTheTicket(t *testing.T) {
	s, fake := slackNotifier(t)
	ctx := context.Background()
	tk := deal.Ticket{ID: "discovery", Owner: dealtest.Presales, DeliverableKind: "discovery_notes", Status: "open", OpenedAt: at, Signoffs: []deal.Signoff{}}
	n := ticketOpened("n1", tk)
	for range 2 { // a retried activity
		if err := s.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	posts := fake.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d posts for one notice, want 1", len(posts))
	}
	if posts[0].Channel != "C_DEALS" || len(slackfake.Buttons(posts[0].Blocks)) != 3 {
		t.Fatalf("posted to %s with buttons %v", posts[0].Channel, slackfake.Buttons(posts[0].Blocks))
	}
	row, err := s.Store.Queries().FindSlackMessages(ctx, findParams("d-1", MsgTicket, "discovery"))
	if err != nil || len(row) != 1 || row[0].Ts != posts[0].TS || row[0].Channel != "C_DEALS" {
		t.Fatalf("slack_messages row %+v, %v; want channel C_DEALS ts %s", row, err, posts[0].TS)
	}

	closed := at.Add(time.Hour)
	so := deal.Signoff{Seq: 1, By: dealtest.Presales, Side: "internal", Decision: "approve", At: closed,
		Deliverable: &deal.Deliverable{Kind: "discovery_notes", URL: "https://docs.example.com/d"}}
	tk.Status, tk.ClosedAt, tk.InternalApproved, tk.Signoffs = "closed", &closed, true, []deal.Signoff{so}
	sn := note1(deal.NoticeSignoff)
	sn.Key, sn.Notice.Ticket, sn.Notice.Signoff = "n2", &tk, &so
	if err := s.Notify(ctx, sn); err != nil {
		t.Fatal(err)
	}
	ups := fake.Calls("chat.update")
	if len(ups) != 1 || ups[0].Channel != "C_DEALS" || ups[0].TS != posts[0].TS {
		t.Fatalf("updates %+v, want one of %s/%s", ups, "C_DEALS", posts[0].TS)
	}
	if b := slackfake.Buttons(ups[0].Blocks); len(b) != 0 {
		t.Fatalf("buttons left after the sign-off: %v", b)
	}
	wantText(t, ups[0].Blocks, "<@U_PRESALES> approved", "<https://docs.example.com/d|discovery notes>", "*Closed*")
	if len(fake.Calls("chat.postMessage")) != 1 {
		t.Fatal("a sign-off posted a new message instead of updating")
	}
}

func TestSlackNotifierWaitsOutRateLimits(t *testing.T) {
	s, fake := slackNotifier(t)
	fake.RateLimit("chat.postMessage", 2, 1)
	n := note1(deal.NoticeIncident)
	n.Notice.Incident = &deal.Incident{IncidentID: "I1", Severity: "major", Status: "open", Title: "Slow"}
	if err := s.Notify(context.Background(), n); err != nil {
		t.Fatalf("a rate-limited post should be retried after Retry-After: %v", err)
	}
	if got := len(fake.Calls("chat.postMessage")); got != 1 {
		t.Fatalf("%d posts, want 1", got)
	}
}

// A Retry-After longer than the activity has left returns the error, so
// Temporal's retry policy takes over instead of the activity timing out.
func TestSlackNotifierGivesRateLimitBackToTemporal(t *testing.T) {
	s, fake := slackNotifier(t)
	fake.RateLimit("chat.postMessage", 1, 60)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n := note1(deal.NoticeIncident)
	n.Notice.Incident = &deal.Incident{IncidentID: "I1", Severity: "major", Status: "open", Title: "Slow"}
	err := s.Notify(ctx, n)
	if err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Fatalf("error %v, want the rate limit", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Notify waited for the deadline instead of returning")
	}
	// The next attempt posts.
	if err := s.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if got := len(fake.Calls("chat.postMessage")); got != 1 {
		t.Fatalf("%d posts, want 1", got)
	}
}

func TestSlackNotifierPermanentErrorsAreNotRetried(t *testing.T) {
	s, fake := slackNotifier(t)
	fake.Fail("chat.postMessage", "channel_not_found")
	n := note1(deal.NoticeIncident)
	n.Notice.Incident = &deal.Incident{IncidentID: "I1", Severity: "major", Status: "open", Title: "Slow"}
	err := s.Notify(context.Background(), n)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable application error", err)
	}
}

func TestSlackNotifierHandoverAndClosing(t *testing.T) {
	s, fake := slackNotifier(t)
	ctx := context.Background()
	steps := []Notification{stageChanged("n1", deal.Pricing, deal.Closing, dealtest.Pricing, "pricing signed off")}
	ho := note1(deal.NoticeHandoverOpened)
	ho.Key = "n3"
	ho.Notice.Commitments = []deal.Commitment{{ID: "c1", Kind: "discount", Text: "10% off", By: dealtest.AE}}
	steps = append(steps, stageChanged("n2", deal.Closing, deal.Handover, dealtest.AE, "closed won"), ho,
		stageChanged("n4", deal.Handover, deal.InProgress, dealtest.PM, "handover signed off"))
	for _, n := range steps {
		if err := s.Notify(ctx, n); err != nil {
			t.Fatalf("%s: %v", n.Key, err)
		}
	}
	msgs := fake.Messages()
	// closing, handover stage, PM's checklist, channel copy, in_progress.
	if len(msgs) != 5 {
		t.Fatalf("%d messages, want 5", len(msgs))
	}
	closing, pm, ro := msgs[0], msgs[2], msgs[3]
	if pm.Channel != "D"+dealtest.PM || ro.Channel != "C_DEALS" {
		t.Fatalf("checklist went to %s and %s, want the PM's DM and the channel", pm.Channel, ro.Channel)
	}
	for _, m := range []slackfake.Message{closing, pm, ro} {
		if m.Updates != 1 || len(slackfake.Buttons(m.Blocks)) != 0 {
			t.Errorf("message %s/%s: %d updates, buttons %v; want settled once", m.Channel, m.TS, m.Updates, slackfake.Buttons(m.Blocks))
		}
	}
	wantText(t, closing.Blocks, "Closed *won* by <@U_AE>")
	wantText(t, pm.Blocks, "`c1` discount", "Handover signed off by <@U_PM>")
	wantText(t, ro.Blocks, "`c1` discount", "Handover signed off by <@U_PM>")
}

func handoverOpened() Notification {
	n := note1(deal.NoticeHandoverOpened)
	n.Key = "n3"
	n.Notice.Commitments = []deal.Commitment{{ID: "c1", Kind: "discount", Text: "10% off", By: dealtest.AE}}
	return n
}

// A PM who cannot be reached directly (a mistyped id) does not hide the
// handover: the channel gets the interactive checklist, and the failure is
// not retried.
func TestSlackNotifierHandoverReachesTheChannelWhenThePMCannot(t *testing.T) {
	s, fake := slackNotifier(t)
	fake.FailChannel(dealtest.PM, "channel_not_found")
	n := handoverOpened()
	for range 2 { // a retried activity posts nothing more
		err := s.Notify(context.Background(), n)
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(err.Error(), "channel_not_found") {
			t.Fatalf("error %v, want the PM's channel_not_found, not retried", err)
		}
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].Channel != "C_DEALS" {
		t.Fatalf("messages %+v, want one, in the channel", msgs)
	}
	if _, ok := slackfake.FindButton(msgs[0].Blocks, ActionHandoverSignoff); !ok {
		t.Fatalf("the channel's checklist has no sign-off button: %v", slackfake.Buttons(msgs[0].Blocks))
	}
	wantText(t, msgs[0].Blocks, "`c1` discount", "could not be sent to <@U_PM> directly")
}

// A direct message that fails for now does not hold the channel's copy
// back; the retry posts the direct message only.
func TestSlackNotifierHandoverPostsAreIndependent(t *testing.T) {
	s, fake := slackNotifier(t)
	fake.FailChannel(dealtest.PM, "internal_error")
	n := handoverOpened()
	err := s.Notify(context.Background(), n)
	var app *temporal.ApplicationError
	if err == nil || (errors.As(err, &app) && app.NonRetryable()) {
		t.Fatalf("error %v, want one Temporal retries", err)
	}
	msgs := fake.Messages()
	if _, signs := slackfake.FindButton(msgs[0].Blocks, ActionHandoverSignoff); len(msgs) != 1 || msgs[0].Channel != "C_DEALS" || signs {
		t.Fatalf("messages %+v, want the channel's read-only copy", msgs)
	}
	fake.FailChannel(dealtest.PM, "")
	if err := s.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	msgs = fake.Messages()
	if len(msgs) != 2 || msgs[1].Channel != "D"+dealtest.PM {
		t.Fatalf("messages %+v, want the channel's copy and then the PM's", msgs)
	}
	if _, ok := slackfake.FindButton(msgs[1].Blocks, ActionHandoverSignoff); !ok {
		t.Fatal("the PM's checklist has no sign-off button")
	}
}

func TestSlackNotifierCancelsTheOpenTicketWhenLost(t *testing.T) {
	s, fake := slackNotifier(t)
	ctx := context.Background()
	tk := deal.Ticket{ID: "proposal", Owner: dealtest.AE, DeliverableKind: "proposal_assumptions", Status: "open", OpenedAt: at, Signoffs: []deal.Signoff{}}
	for _, n := range []Notification{ticketOpened("n1", tk), stageChanged("n2", deal.Proposal, deal.ClosedLost, dealtest.AE, "budget cut")} {
		if err := s.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	m := fake.Messages()[0]
	if len(slackfake.Buttons(m.Blocks)) != 0 {
		t.Fatal("the lost deal's ticket still has buttons")
	}
	wantText(t, m.Blocks, "Cancelled: the deal was lost (<@U_AE>", "<@U_AE> owns this ticket")
}

func findParams(dealID, kind, ticket string) dbq.FindSlackMessagesParams {
	return dbq.FindSlackMessagesParams{DealID: dealID, Kind: kind, TicketID: ticket}
}

// testDatabase creates a database of its own for one test and drops it
// after. (devstack has the same helper, but it imports the workflows, which
// import this package.)
func testDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "dealflow_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// A sign-off whose message Slack refuses for its content (here Slack takes
// less text than usual) replaces the message with its short version: the
// answered buttons go, the current ones and the deal page stay.
func TestSlackNotifierReplacesARefusedUpdate(t *testing.T) {
	s, fake := slackNotifier(t)
	s.Render.BaseURL = "https://dealflow.example.com"
	ctx := context.Background()
	tk := scopingTicket()
	if err := s.Notify(ctx, ticketOpened("n1", tk)); err != nil {
		t.Fatal(err)
	}
	lower := slackfake.SlackLimits
	lower.MessageText = 1500
	fake.SetLimits(lower)
	so := deal.Signoff{Seq: 1, By: dealtest.Presales, Side: "internal", Decision: "approve", At: at,
		Deliverable: &deal.Deliverable{Kind: "scoping_decision_log", URL: "https://docs.example.com/" + strings.Repeat("s", 1500), Body: "scope"}}
	tk.InternalApproved, tk.Signoffs = true, []deal.Signoff{so}
	sn := note1(deal.NoticeSignoff)
	sn.Key, sn.Notice.Ticket, sn.Notice.Signoff = "n2", &tk, &so
	if err := s.Notify(ctx, sn); err != nil {
		t.Fatalf("a refused update should be replaced by its short version: %v", err)
	}
	if rs := fake.Refusals(); len(rs) != 1 || rs[0].Code != "msg_blocks_too_long" {
		t.Fatalf("refusals %+v, want the full message's msg_blocks_too_long", rs)
	}
	m := fake.Messages()[0]
	if got, want := fmt.Sprint(actionIDs(m.Blocks)), fmt.Sprint([]string{ActionClientApprove, ActionClientChanges, ActionCommitment}); got != want {
		t.Fatalf("buttons %s after the refused update, want %s", got, want)
	}
	wantText(t, m.Blocks, "waiting for the client's sign-off", "<https://dealflow.example.com/deals/d-1|the deal page>")
	rows, err := s.Store.Queries().FindSlackMessages(ctx, findParams("d-1", MsgTicket, "scoping"))
	if err != nil || len(rows) != 1 {
		t.Fatalf("slack_messages rows %+v, %v", rows, err)
	}
	var kept, shown any
	_, _ = json.Unmarshal(rows[0].Blocks, &kept), json.Unmarshal(m.Blocks, &shown)
	if !reflect.DeepEqual(kept, shown) {
		t.Fatalf("slack_messages keeps %s, want what Slack shows %s", rows[0].Blocks, m.Blocks)
	}
}

// A handover checklist Slack refuses for its content still reaches the PM
// (in its short version); that is no reason to think the PM unreachable.
func TestSlackNotifierHandoverRefusedForItsContent(t *testing.T) {
	s, fake := slackNotifier(t)
	lower := slackfake.SlackLimits
	lower.MessageText = 2000
	fake.SetLimits(lower)
	n := handoverOpened()
	for i := range 10 {
		n.Notice.Commitments = append(n.Notice.Commitments, deal.Commitment{ID: fmt.Sprintf("c%d", i+2), Kind: "date", Text: strings.Repeat("go live ", 50), By: dealtest.AE})
	}
	if err := s.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if len(msgs) != 2 || msgs[0].Channel != "D"+dealtest.PM || msgs[1].Channel != "C_DEALS" {
		t.Fatalf("messages %+v, want the PM's and the channel's", msgs)
	}
	if _, ok := slackfake.FindButton(msgs[0].Blocks, ActionHandoverSignoff); !ok {
		t.Fatal("the PM's short checklist has no sign-off button")
	}
	if _, signs := slackfake.FindButton(msgs[1].Blocks, ActionHandoverSignoff); signs || strings.Contains(slackfake.Text(msgs[1].Blocks), "could not be sent") {
		t.Fatalf("the channel's copy took over from a PM who was reached: %s", slackfake.Text(msgs[1].Blocks))
	}
	wantText(t, msgs[0].Blocks, "11 commitments to review", "see the deal page")
}

// Only errors saying the PM cannot be written to are unreachable.
func TestSlackUnreachableErrors(t *testing.T) {
	for _, code := range unreachableSlackErrors {
		if !unreachable(slackFailure("chat.postMessage", slack.SlackErrorResponse{Err: code})) {
			t.Errorf("%s is not taken as unreachable", code)
		}
	}
	for _, code := range append(contentSlackErrors, "internal_error", "ratelimited") {
		if unreachable(slackFailure("chat.postMessage", slack.SlackErrorResponse{Err: code})) {
			t.Errorf("%s is taken as an unreachable person", code)
		}
	}
}
