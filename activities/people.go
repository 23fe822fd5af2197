package activities

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"dealflow/db"
)

// PeopleRefresher fills the people cache (names for the deals' Slack user
// ids) from Slack's users.info, in the background: pages and reports read
// only the cache, so a slow or failing Slack never holds a page up. A name
// is fetched again once it is a day old.
type PeopleRefresher struct {
	API   *slack.Client
	Store *db.Store
	Log   *slog.Logger
	// MaxAge is how old a cached name may get; default a day.
	MaxAge time.Duration
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// peoplePerRound bounds one round's calls: users.info is a Tier 4 method
// (100+ a minute), and the next round takes the rest.
const peoplePerRound = 50

// Run refreshes once at once and then every interval until ctx ends.
func (p *PeopleRefresher) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := ""
	for {
		_, err := p.Refresh(ctx)
		switch {
		case err == nil:
			last = ""
		case ctx.Err() == nil && err.Error() != last:
			// Said once until it changes: a missing users:read scope would
			// otherwise log every round.
			last = err.Error()
			p.Log.Warn("people: names not fetched from Slack; pages show user ids until it works", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh fetches the names missing or too old, up to a round's worth, and
// says how many it cached. It stops at the first failure that is not about
// one user (rate limit, bad token, missing scope, Slack down): the next
// round tries again.
func (p *PeopleRefresher) Refresh(ctx context.Context) (int, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	maxAge := p.MaxAge
	if maxAge == 0 {
		maxAge = 24 * time.Hour
	}
	ids, err := p.Store.PeopleToFetch(ctx, now().Add(-maxAge), peoplePerRound)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, id := range ids {
		name, realName := "", ""
		u, err := p.API.GetUserInfoContext(ctx, id)
		var se slack.SlackErrorResponse
		switch {
		case err == nil:
			name, realName = u.Name, u.RealName
			if realName == "" {
				realName = u.Profile.RealName
			}
		case errors.As(err, &se) && (se.Err == "user_not_found" || se.Err == "user_not_visible"):
			// Cached without a name: the id is shown, and asked again in a day.
		default:
			return done, err
		}
		if err := p.Store.SavePerson(ctx, id, name, realName, now()); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}
