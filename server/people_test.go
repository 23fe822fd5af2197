package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"dealflow/deal/dealtest"
)

// TestPeopleNamedFromSlack: with a bot token the worker looks the deals'
// people up in Slack by itself, and the deal page shows the names it
// cached; a user Slack does not know stays an id.
func TestPeopleNamedFromSlack(t *testing.T) {
	was := peopleEvery
	peopleEvery = 100 * time.Millisecond
	t.Cleanup(func() { peopleEvery = was })
	s, fake := slackServer(t, nil)
	fake.SetUser(dealtest.AE, "ana", "Ana Alvarez")
	id := "named-1"
	openDeal(t, s, dealtest.Terms(id, time.Now()))

	// The deadline only stops a refresher that never runs.
	deadline := time.Now().Add(30 * time.Second)
	for {
		names, err := s.Store.Names(context.Background(), []string{dealtest.AE})
		if err != nil {
			t.Fatal(err)
		}
		if names[dealtest.AE] == "Ana Alvarez" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the AE's name was never cached; users.info calls: %d", len(fake.Calls("users.info")))
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitForRecord(t, s, id)
	code, body := get(t, "http://"+s.Addr+"/deals/"+id, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /deals/%s: %d", id, code)
	}
	for _, want := range []string{`id="person-ae">Ana Alvarez (` + dealtest.AE + `)<`, `id="person-pm">` + dealtest.PM + `<`} {
		if !strings.Contains(body, want) {
			t.Errorf("the deal page lacks %q", want)
		}
	}
}
