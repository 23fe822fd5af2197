package db_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"dealflow/db"
	"dealflow/db/dbtest"
)

// TestOlderWorkerRefusesNewerSchema: a worker started against a database
// a newer worker has migrated refuses with one line that says to roll
// forward, and leaves the schema as it is.
func TestOlderWorkerRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	url, drop, err := dbtest.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	pool, err := db.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	// What the next release's migration would leave behind.
	var v int
	if err := pool.QueryRow(ctx, "UPDATE schema_version SET version = version + 1 RETURNING version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	err = db.Migrate(ctx, pool)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "newer than the") || !strings.Contains(err.Error(), "roll forward") {
		t.Fatalf("migrating a newer schema: %v; want one line saying to roll forward", err)
	}
	var after int
	if err := pool.QueryRow(ctx, "SELECT version FROM schema_version").Scan(&after); err != nil || after != v {
		t.Fatalf("schema version %d after the refusal (%v), want %d untouched", after, err, v)
	}
	t.Log(err)
}
