// Package dbtest gives tests a real PostgreSQL store of their own.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"dealflow/db"
)

// Store is a Store on a fresh, migrated database of its own (on the server
// DATABASE_URL names), dropped when the test or benchmark ends.
func Store(tb testing.TB) *db.Store {
	tb.Helper()
	s, _ := StoreURL(tb)
	return s
}

// StoreURL is Store and the database's URL, for a process of the test's
// own (a worker it kills) to connect to.
func StoreURL(tb testing.TB) (*db.Store, string) {
	tb.Helper()
	ctx := context.Background()
	url, drop, err := CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(drop)
	pool, err := db.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := db.Migrate(ctx, pool); err != nil {
		tb.Fatal(err)
	}
	return &db.Store{Pool: pool}, url
}

// CreateDatabase makes a database with a random name on the server of
// baseURL and returns its URL and a function that drops it, so leftovers of
// an earlier run never matter.
func CreateDatabase(ctx context.Context, baseURL string) (string, func(), error) {
	if baseURL == "" {
		baseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", nil, fmt.Errorf("database URL: %w", err)
	}
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		return "", nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "dealflow_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("creating database %s: %w", name, err)
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), baseURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}
