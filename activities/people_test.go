package activities

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"dealflow/activities/slackfake"
	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// TestPeopleRefresher: the deals' people are looked up in Slack once, kept
// for a day, and a user Slack does not know stays an id; a Slack that
// fails leaves the cache as it was, to be tried again.
func TestPeopleRefresher(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Store(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	d, err := dealtest.Open(dealtest.Terms("d-names", now), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ClaimDeal(ctx, d.State, "run-d-names"); err != nil {
		t.Fatal(err)
	}
	fake := slackfake.New("xoxb-test")
	defer fake.Close()
	fake.SetUser(dealtest.AE, "ana", "Ana Alvarez")
	fake.SetUser(dealtest.PM, "maria", "")
	r := &PeopleRefresher{API: NewSlackClient("xoxb-test", fake.APIURL()), Store: store,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	people := []string{dealtest.AE, dealtest.Presales, dealtest.Pricing, dealtest.PM, dealtest.GM}
	names := func() deal.Names {
		t.Helper()
		n, err := store.Names(ctx, people)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	fake.Fail("users.info", "ratelimited")
	if n, err := r.Refresh(ctx); err == nil || n != 0 {
		t.Fatalf("Slack failing: cached %d, error %v; want 0 and the error", n, err)
	}
	if got := names(); len(got) != 0 {
		t.Fatalf("Slack failing cached names: %v", got)
	}
	fake.Fail("users.info", "")

	if n, err := r.Refresh(ctx); err != nil || n != len(people) {
		t.Fatalf("first round: cached %d, error %v; want %d", n, err, len(people))
	}
	got := names()
	if want := (deal.Names{dealtest.AE: "Ana Alvarez", dealtest.PM: "maria"}); len(got) != len(want) || got[dealtest.AE] != want[dealtest.AE] || got[dealtest.PM] != want[dealtest.PM] {
		t.Fatalf("names %v, want %v (the real name, else the user name; unknown users left out)", got, want)
	}
	if s := got.Show(dealtest.AE); s != "Ana Alvarez ("+dealtest.AE+")" {
		t.Errorf("Show(AE) = %q", s)
	}
	if s := got.Show(dealtest.GM); s != dealtest.GM {
		t.Errorf("a user Slack does not know shows as %q, want the id", s)
	}

	calls := len(fake.Calls("users.info"))
	now = now.Add(23 * time.Hour)
	if n, err := r.Refresh(ctx); err != nil || n != 0 || len(fake.Calls("users.info")) != calls {
		t.Fatalf("a day not yet passed: cached %d (error %v), %d calls to Slack; want none", n, err, len(fake.Calls("users.info"))-calls)
	}
	fake.SetUser(dealtest.AE, "ana", "Ana Alvarez-Vidal")
	now = now.Add(2 * time.Hour)
	if n, err := r.Refresh(ctx); err != nil || n != len(people) {
		t.Fatalf("a day later: cached %d, error %v; want all %d again", n, err, len(people))
	}
	if got := names()[dealtest.AE]; got != "Ana Alvarez-Vidal" {
		t.Fatalf("after a day the AE's name is %q, want Slack's new one", got)
	}
}
