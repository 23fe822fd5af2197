package activities

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"dealflow/activities/slackfake"
	"dealflow/deal"
)

// impatient is a notifier whose Slack client gives up after 300 ms, as the
// real one gives up after its time-out, so a slow answer is a lost answer.
func impatient(t *testing.T) (*SlackNotifier, *slackfake.Server) {
	s, fake := slackNotifier(t)
	s.API = NewSlackClient("xoxb-test", fake.APIURL(), slack.OptionHTTPClient(&http.Client{Timeout: 300 * time.Millisecond}))
	return s, fake
}

func incidentNote(key string) Notification {
	n := note1(deal.NoticeIncident)
	n.Key = key
	n.Notice.Incident = &deal.Incident{IncidentID: key, Severity: "major", Status: "open", Title: "Slow"}
	return n
}

// posted counts the messages in the fake that carry the notice key.
func posted(fake *slackfake.Server, key string) int {
	n := 0
	for _, m := range fake.Messages() {
		if slackfake.NoticeKey(m.Metadata) == key {
			n++
		}
	}
	return n
}

// TestPostTakenButAnsweredLateIsNotPostedAgain: Slack takes the post but
// answers after the client gave up; the retry finds the message by the key
// in its metadata and records it instead of posting again.
func TestPostTakenButAnsweredLateIsNotPostedAgain(t *testing.T) {
	s, fake := impatient(t)
	ctx := context.Background()
	fake.Outage("chat.postMessage", slackfake.Fault{Delay: 2 * time.Second, Taken: true})
	n := incidentNote("late-1")
	if err := s.Notify(ctx, n); err == nil {
		t.Fatal("a post answered after the time-out reported success")
	}
	if got := posted(fake, n.Key); got != 1 {
		t.Fatalf("the fake holds %d messages of the notice after the slow post, want 1", got)
	}
	fake.Recover("")
	for range 2 {
		if err := s.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if got := posted(fake, n.Key); got != 1 {
		t.Fatalf("%d messages of the notice after the retries, want 1", got)
	}
	if len(fake.Calls("conversations.history")) == 0 {
		t.Fatal("the retry did not look in the history")
	}
	row, err := s.Store.Queries().ListSlackMessages(ctx, "d-1")
	if err != nil || len(row) != 1 || row[0].Ts != fake.Messages()[0].TS {
		t.Fatalf("slack_messages %+v, %v; want the one message found", row, err)
	}
}

// TestClearRefusalsDoNotReadHistory: a 429 or an ok=false answer takes
// nothing, so the retry posts without reading the history; a 500 may
// have taken the post, so the retry looks first, finds nothing, and posts.
func TestClearRefusalsDoNotReadHistory(t *testing.T) {
	s, fake := impatient(t)
	ctx := context.Background()
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	fake.Outage("chat.postMessage", slackfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: 5})
	err := s.Notify(short, incidentNote("rl"))
	cancel()
	if err == nil {
		t.Fatal("a 429 longer than the time left reported success")
	}
	fake.Outage("chat.postMessage", slackfake.Fault{Status: http.StatusInternalServerError})
	if err := s.Notify(ctx, incidentNote("five")); err == nil {
		t.Fatal("a 500 reported success")
	}
	fake.Recover("")
	if err := s.Notify(ctx, incidentNote("rl")); err != nil {
		t.Fatal(err)
	}
	if got := len(fake.Calls("conversations.history")); got != 0 {
		t.Fatalf("%d history reads after a 429, want none", got)
	}
	if err := s.Notify(ctx, incidentNote("five")); err != nil {
		t.Fatal(err)
	}
	if got := len(fake.Calls("conversations.history")); got != 1 {
		t.Fatalf("%d history reads after a 500, want 1", got)
	}
	if posted(fake, "rl") != 1 || posted(fake, "five") != 1 {
		t.Fatalf("messages %+v, want one of each notice", fake.Messages())
	}
}

// TestReconcilePagesAndFindsDirectMessages: the handover checklist goes to
// the PM's user id, which lands in a direct message; a retry finds it there
// (conversations.open), through pages of 15 (what Slack gives apps outside
// the Marketplace) past messages posted after it.
func TestReconcilePagesAndFindsDirectMessages(t *testing.T) {
	s, fake := impatient(t)
	ctx := context.Background()
	l := slackfake.SlackLimits
	l.HistoryPage = 15
	fake.SetLimits(l)
	n := note1(deal.NoticeHandoverOpened)
	n.Key = "ho"
	fake.Outage("chat.postMessage", slackfake.Fault{Delay: 2 * time.Second, Taken: true})
	if err := s.Notify(ctx, n); err == nil {
		t.Fatal("a post answered after the time-out reported success")
	}
	fake.Recover("")
	// 40 later notices to the PM, so the checklist is pages down.
	for i := range 40 {
		o := incidentNote("later-" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		o.Channel = n.People.PM
		if err := s.Notify(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Notify(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got := posted(fake, "ho"); got != 1 {
		t.Fatalf("%d checklists to the PM, want 1", got)
	}
	if got := posted(fake, "ho/channel"); got != 1 {
		t.Fatalf("%d read-only copies in the channel, want 1", got)
	}
	if len(fake.Calls("conversations.open")) == 0 || len(fake.Calls("conversations.history")) < 3 {
		t.Fatalf("%d conversations.open, %d history pages; want the DM opened and several pages",
			len(fake.Calls("conversations.open")), len(fake.Calls("conversations.history")))
	}
}

// TestConcurrentAttemptsPostOnce: two attempts at one notice at once (an
// old run still sending what the next run sends) post it once: the ones
// that find it leased fail as busy, and their retries find it posted.
func TestConcurrentAttemptsPostOnce(t *testing.T) {
	s, fake := slackNotifier(t)
	ctx := context.Background()
	fake.Outage("chat.postMessage", slackfake.Fault{Delay: 200 * time.Millisecond, Taken: true})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Notify(ctx, incidentNote("both"))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var app *temporal.ApplicationError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &app) && app.Type() == ErrNoticeBusy && !app.NonRetryable():
			// the retry, as Temporal would make it
			if err := s.Notify(ctx, incidentNote("both")); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatal(err)
		}
	}
	if ok == 0 {
		t.Fatal("no attempt posted")
	}
	if got := posted(fake, "both"); got != 1 {
		t.Fatalf("%d messages for one notice sent 4 times at once, want 1", got)
	}
}
