package db

import (
	"context"
	"slices"
	"time"

	"dealflow/db/dbq"
	"dealflow/deal"
)

// Names reads the cached names of the given user ids: Slack's real name, or
// its user name when the real name is empty. Ids never fetched, or that
// Slack had no name for, are left out (they show as the id).
func (s *Store) Names(ctx context.Context, ids []string) (deal.Names, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	rows, err := s.Queries().ListPeople(ctx, ids)
	if err != nil {
		return nil, err
	}
	names := deal.Names{}
	for _, r := range rows {
		if n := r.RealName; n != "" {
			names[r.UserID] = n
		} else if r.Name != "" {
			names[r.UserID] = r.Name
		}
	}
	return names, nil
}

// SavePerson caches what Slack answered for a user; empty names record that
// Slack had none, so the id is not asked for again until the entry is old.
func (s *Store) SavePerson(ctx context.Context, id, name, realName string, at time.Time) error {
	return s.Queries().UpsertPerson(ctx, dbq.UpsertPersonParams{UserID: id, Name: name, RealName: realName, FetchedAt: at})
}

// PeopleToFetch lists up to max of the deals' people whose name is missing
// or was fetched before the given time, the never fetched first.
func (s *Store) PeopleToFetch(ctx context.Context, fetchedBefore time.Time, max int) ([]string, error) {
	return s.Queries().PeopleToFetch(ctx, dbq.PeopleToFetchParams{FetchedBefore: fetchedBefore, MaxPeople: int32(max)})
}
