package report

import (
	"context"
	"fmt"

	"dealflow/db"
	"dealflow/deal"
)

// Load reads the deals won inside the window from PostgreSQL (the record
// the activities wrote) and builds the report over them.
func Load(ctx context.Context, store *db.Store, o Options) (Report, error) {
	// The trends reach further back than the window.
	since := o.Since()
	if t := TrendSince(o.Now); t.Before(since) {
		since = t
	}
	ids, err := store.Queries().ListWonDealIDsSince(ctx, since)
	if err != nil {
		return Report{}, fmt.Errorf("listing won deals: %w", err)
	}
	records := make([]*deal.Record, 0, len(ids))
	for _, id := range ids {
		r, err := store.LoadRecord(ctx, id)
		if err != nil {
			return Report{}, fmt.Errorf("reading deal %s: %w", id, err)
		}
		records = append(records, r)
	}
	files, err := store.Queries().CorrectionFilesByDeal(ctx, ids)
	if err != nil {
		return Report{}, fmt.Errorf("reading finance files: %w", err)
	}
	o.CorrectionFiles = map[string]int{}
	for _, f := range files {
		o.CorrectionFiles[f.DealID] = int(f.Files)
	}
	rep := Build(records, o)
	var people []string
	for _, d := range rep.Deals {
		people = append(people, d.AE, d.PM)
	}
	if rep.Names, err = store.Names(ctx, people); err != nil {
		return Report{}, fmt.Errorf("reading people's names: %w", err)
	}
	return rep, nil
}
