package hubspot_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"dealflow/db/dbtest"
	"dealflow/deal/dealtest"
	"dealflow/hubspot"
)

// TestOneDrainerPerFirm: two workers' bridges on one database make one
// writer: the second waits for the lock, takes over when the first stops,
// and every change is written once.
func TestOneDrainerPerFirm(t *testing.T) {
	store := dbtest.Store(t)
	fake, c, cfg := fakeAndClient(t, 100, 10*time.Second)
	if err := hubspot.Setup(context.Background(), c, cfg.Stages, "default", io.Discard); err != nil {
		t.Fatal(err)
	}
	seedDeals(t, store, fake, 150)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func() func() {
		br := hubspot.New(cfg, store, nil, "", nil, log)
		br.PollEvery = 20 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); br.Run(ctx) }()
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); <-done }) }
		// Stopped before the store closes, whatever happens.
		t.Cleanup(stop)
		return stop
	}
	holders := func() int {
		var n int
		if err := store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	stopA := start()
	dealtest.Eventually(t, "the first bridge to take the lock", func() bool { return holders() == 1 })
	start()
	changeAll(t, store, "21.00")
	dealtest.Eventually(t, "HubSpot to show every deal", func() bool { return fake.Showing("dealflow_forecast_margin_pct", "21.00") == 150 })
	if n := fake.Calls("batch_update"); n != 2 || holders() != 1 {
		t.Fatalf("%d batch calls for 150 deals with two bridges, %d lock holders; want 2 calls, 1 holder", n, holders())
	}
	stopA()
	changeAll(t, store, "22.00")
	dealtest.Eventually(t, "the second bridge to take over", func() bool { return fake.Showing("dealflow_forecast_margin_pct", "22.00") == 150 })
	if n := fake.Calls("batch_update"); n != 4 {
		t.Fatalf("%d batch calls in all, want 4", n)
	}
}
