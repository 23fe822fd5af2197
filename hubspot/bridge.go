package hubspot

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"dealflow/db"
	"dealflow/metrics"
)

// People turns an email into a Slack user id (users.lookupByEmail). An
// address Slack does not know answers "" and no error; an error is Slack
// failing, and the event is tried again.
type People interface {
	SlackUserByEmail(ctx context.Context, email string) (string, error)
}

// Bridge applies HubSpot's events to deals and mirrors deals onto HubSpot.
// Several worker processes may run one each: only the one holding the
// firm's advisory lock works, so there is one writer and one rate budget.
type Bridge struct {
	Config    Config
	API       *Client
	Store     *db.Store
	Temporal  client.Client
	TaskQueue string
	People    People
	Log       *slog.Logger
	// PollEvery is how often the mirror looks for changed deals (SaveRows
	// may run in another process, so it cannot be told); default 1s.
	PollEvery time.Duration

	nudge chan struct{}
}

// lockKey names the bridge's advisory lock: one per database, which is one
// per firm.
const lockKey int64 = 0x4855_4253_504f_54 // "HUBSPOT"

// New makes a bridge; Run starts it.
func New(cfg Config, store *db.Store, tc client.Client, taskQueue string, people People, log *slog.Logger) *Bridge {
	return &Bridge{Config: cfg, API: NewClient(cfg), Store: store, Temporal: tc, TaskQueue: taskQueue, People: people, Log: log,
		PollEvery: time.Second, nudge: make(chan struct{}, 1)}
}

// Nudge wakes the bridge (new events are stored); it never blocks.
func (b *Bridge) Nudge() {
	select {
	case b.nudge <- struct{}{}:
	default:
	}
}

// Run works until ctx ends: it waits for the firm's lock, then applies
// events and drains the mirror, and gives the lock up when ctx ends or its
// connection breaks (PostgreSQL frees it with the session).
func (b *Bridge) Run(ctx context.Context) {
	for ctx.Err() == nil {
		held, err := b.holdLock(ctx)
		if err != nil && ctx.Err() == nil {
			metrics.CRMFailure("lock")
			b.Log.Warn("hubspot bridge: lock", "error", err)
		}
		if !held {
			sleep(ctx, 5*time.Second)
		}
	}
}

// holdLock takes the lock if free and works while holding it.
func (b *Bridge) holdLock(ctx context.Context) (bool, error) {
	conn, err := b.Store.Pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey).Scan(&got); err != nil || !got {
		return false, err
	}
	defer func() {
		// A fresh context: ctx is usually done by now.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", lockKey); err != nil {
			conn.Conn().Close(uctx) // the session ends, and the lock with it
		}
	}()
	return true, b.work(ctx, conn)
}

func (b *Bridge) work(ctx context.Context, conn *pgxpool.Conn) error {
	t := time.NewTicker(b.PollEvery)
	defer t.Stop()
	for {
		if err := conn.Ping(ctx); err != nil {
			return err
		}
		if err := b.applyPending(ctx); err != nil && ctx.Err() == nil {
			metrics.CRMFailure("apply")
			b.Log.Warn("hubspot bridge: applying events", "error", err)
		}
		if err := b.drain(ctx); err != nil && ctx.Err() == nil {
			metrics.CRMFailure("mirror")
			b.Log.Warn("hubspot bridge: mirror", "error", err)
		}
		if lag, err := b.Store.Queries().HubSpotLag(ctx); err == nil {
			metrics.CRMSyncLag(time.Duration(lag * float64(time.Second)))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.nudge:
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// permanent is true for a HubSpot answer that a retry cannot change.
func permanent(err error) bool {
	var api *APIError
	return errors.As(err, &api) && api.Permanent()
}
