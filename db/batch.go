package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// batcher lets the sqlc queries that only execute be queued and sent to
// PostgreSQL in one round trip: a deal with a thousand invoices is saved in
// one exchange, not a thousand.
type batcher struct{ b pgx.Batch }

func (q *batcher) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	q.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

var errNotBatched = errors.New("db: only Exec statements can be batched")

func (q *batcher) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errNotBatched
}

func (q *batcher) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{} }

func (q *batcher) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errNotBatched
}

type errRow struct{}

func (errRow) Scan(...any) error { return errNotBatched }

// send runs the queued statements in tx and reports the first failure.
func (q *batcher) send(ctx context.Context, tx pgx.Tx) error {
	if q.b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &q.b).Close()
}
