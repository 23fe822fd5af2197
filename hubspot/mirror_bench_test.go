package hubspot_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"dealflow/db"
	"dealflow/db/dbtest"
	"dealflow/hubspot"
	"dealflow/hubspot/hubspottest"
)

// BenchmarkMirror10000Deals: 10,000 HubSpot deals change at once under
// HubSpot's 100 calls per 10 s; reports how long until HubSpot shows every
// one and the calls it took (the floor is 100 batch calls). Run with
// go test -run X -bench Mirror -benchtime 1x ./hubspot
func BenchmarkMirror10000Deals(b *testing.B) {
	const deals = 10_000
	ctx := context.Background()
	store := dbtest.Store(b)
	fake, c, cfg := fakeAndClient(b, 1000, time.Second)
	if err := hubspot.Setup(ctx, c, cfg.Stages, "default", io.Discard); err != nil {
		b.Fatal(err)
	}
	seedDeals(b, store, fake, deals)
	cfg.Burst, cfg.BurstEvery = hubspot.DefaultBurst, hubspot.DefaultBurstEvery
	fake.SetBurst(hubspot.DefaultBurst, hubspot.DefaultBurstEvery)
	br := hubspot.New(cfg, store, nil, "", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	br.PollEvery = 50 * time.Millisecond
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); br.Run(rctx) }()
	defer func() { cancel(); <-done }()

	b.ResetTimer()
	for i := range b.N {
		margin := strconv.Itoa(20+i) + ".00"
		calls0 := fake.Calls("batch_update")
		start := time.Now()
		changeAll(b, store, margin) // every deal at once
		for fake.Showing("dealflow_forecast_margin_pct", margin) < deals {
			time.Sleep(250 * time.Millisecond)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-until-all-shown")
		b.ReportMetric(float64(fake.Calls("batch_update")-calls0), "batch-calls")
	}
	b.ReportMetric(float64(fake.Refused("429")), "429s")
}

// seedDeals makes n deals in the fake and the same deals, linked and in
// delivery, in PostgreSQL, as a worker would have them.
func seedDeals(tb testing.TB, store *db.Store, fake *hubspottest.Server, n int) []int64 {
	ctx := context.Background()
	ids := make([]int64, n)
	for i := range ids {
		id, err := fake.CreateDeal(1, "", map[string]string{"dealname": "deal", "dealstage": "appt"})
		if err != nil {
			tb.Fatal(err)
		}
		ids[i], _ = strconv.ParseInt(id, 10, 64)
	}
	if _, err := store.Pool.Exec(ctx, `
		INSERT INTO deals (deal_id, client, workstream, currency, contract_value, target_margin_pct, planned_cost, start_date, end_date,
			ae, presales, pricing_approver, pm, gm, margin_warn_pts, margin_critical_pts, stage, opened_at, margin_as_of, revenue,
			actual_cost, eac, current_margin, current_margin_pct, forecast_margin_pct, drift_pts, margin_status, alerted_status,
			pending_change_orders, fees_invoiced, fees_collected, fees_pending, version)
		SELECT 'hs-' || id, 'Acme', 'Data', 'EUR', 100000, 30, 70000, current_date, current_date + 90, 'U_AE', 'U_PRE', 'U_PRI', 'U_PM', 'U_GM',
			3, 8, 'in_progress', now(), now(), 100000, 0, 70000, 30000, 30, 30, 0, 'on_track', 'on_track', 0, 0, 0, 0, 1
		FROM unnest($1::bigint[]) id`, ids); err != nil {
		tb.Fatal(err)
	}
	if _, err := store.Pool.Exec(ctx, `INSERT INTO hubspot_deals (object_id, deal_id, portal_id, state, shown_stage)
		SELECT id, 'hs-' || id, 777, 'open', 'closedwon' FROM unnest($1::bigint[]) id`, ids); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// changeAll changes every deal's forecast as SaveRows would: the state and
// the outbox row together.
func changeAll(tb testing.TB, store *db.Store, margin string) {
	if _, err := store.Pool.Exec(context.Background(), `WITH d AS (UPDATE deals SET forecast_margin_pct = $1 RETURNING deal_id)
		INSERT INTO hubspot_outbox (deal_id) SELECT deal_id FROM d ON CONFLICT (deal_id) DO UPDATE SET seq = hubspot_outbox.seq + 1`, margin); err != nil {
		tb.Fatal(err)
	}
}
