package workflows

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"dealflow/db"
	"dealflow/db/dbtest"
)

// store is the PostgreSQL database every workflow test in this package
// writes to: the activities run for real in the SDK's test environment.
// Each run opens a deal of its own id (newDealID).
var store *db.Store

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx := context.Background()
	url, drop, err := dbtest.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "workflows tests:", err)
		return 1
	}
	defer drop()
	pool, err := db.Connect(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "workflows tests:", err)
		return 1
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool); err != nil {
		fmt.Fprintln(os.Stderr, "workflows tests:", err)
		return 1
	}
	store = &db.Store{Pool: pool}
	return m.Run()
}

var dealSeq atomic.Int64

// newDealID is a deal id no other test of the run uses.
func newDealID() string { return fmt.Sprintf("w%d", dealSeq.Add(1)) }
