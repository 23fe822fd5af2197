//go:build failpoints

package outage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"dealflow/activities"
	"dealflow/activities/slackfake"
	"dealflow/db"
	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// rig is a database, a fake Slack and a task queue for worker processes.
type rig struct {
	store *db.Store
	fake  *slackfake.Server
	env   []string
	queue string
}

func newRig(t *testing.T) *rig {
	store, dbURL := dbtest.StoreURL(t)
	fake := slackfake.New(botToken)
	t.Cleanup(fake.Close)
	queue := fmt.Sprintf("failpoint-%d", time.Now().UnixNano())
	return &rig{store: store, fake: fake, queue: queue, env: []string{"DEALFLOW_OUTAGE_DB=" + dbURL,
		"DEALFLOW_OUTAGE_SLACK=" + fake.APIURL(), "DEALFLOW_OUTAGE_TEMPORAL=" + temporalHostPort, "DEALFLOW_OUTAGE_QUEUE=" + queue}}
}

// crash runs one activity through Temporal on a worker armed to die at
// the failpoint right after the activity's side effect, waits for it to
// die there, and lets a second worker run the retry. The workflow must
// complete: the retry of an effect that already happened succeeds.
func (r *rig) crash(t *testing.T, failpoint, activity string, input any) {
	t.Helper()
	ctx := context.Background()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: temporalHostPort, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	armed := startWorker(t, r.env, failpoint)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: r.queue + "-" + activity, TaskQueue: r.queue},
		StepWorkflow, Step{Activity: activity, Input: in})
	if err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := armed.Wait(); !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("the worker armed at %s ended with %v, want killed there", failpoint, err)
	}
	startWorker(t, r.env, "")
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("%s retried after the crash at %s: %v", activity, failpoint, err)
	}
}

func opened(t *testing.T, id string) *dealtest.Deal {
	at := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	d, err := dealtest.Open(dealtest.Terms(id, at), at)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// claimed is a deal opened and its row claimed by run-1.
func (r *rig) claimed(t *testing.T, id string) *dealtest.Deal {
	d := opened(t, id)
	if _, err := r.store.ClaimDeal(context.Background(), d.State, "run-1"); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCrashAfterClaim: the claim's retry finds its own chain's row.
func TestCrashAfterClaim(t *testing.T) {
	r := newRig(t)
	d := opened(t, "fp-claim")
	r.crash(t, "claim/claimed", "ClaimDeal", activities.ClaimRequest{State: *d.State, FirstRunID: "run-1"})
	var owner string
	if err := r.store.Pool.QueryRow(context.Background(), "SELECT first_run_id FROM deals WHERE deal_id = 'fp-claim'").Scan(&owner); err != nil || owner != "run-1" {
		t.Fatalf("deal owned by %q (%v), want run-1", owner, err)
	}
}

// TestCrashAfterSaveRows: the rows and the state are written once, and
// the retry leaves them as they are.
func TestCrashAfterSaveRows(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	d := r.claimed(t, "fp-save")
	sum := d.State.Summary()
	r.crash(t, "saverows/committed", "SaveRows", activities.SaveRequest{State: sum, Rows: d.Effects.Rows})
	rec, err := r.store.LoadRecord(ctx, "fp-save")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Tickets) != len(d.Effects.Rows.Tickets) || len(rec.History) != len(d.Effects.Rows.StageChanges) {
		t.Fatalf("%d tickets and %d stage changes stored, want %d and %d", len(rec.Tickets), len(rec.History),
			len(d.Effects.Rows.Tickets), len(d.Effects.Rows.StageChanges))
	}
	var version int64
	if err := r.store.Pool.QueryRow(ctx, "SELECT version FROM deals WHERE deal_id = 'fp-save'").Scan(&version); err != nil || version != sum.Version {
		t.Fatalf("stored version %d (%v), want %d", version, err, sum.Version)
	}
}

// TestCrashAfterTakeLedger: a batch whose commit the worker did not report
// is counted once; its retry answers accepted, not duplicate.
func TestCrashAfterTakeLedger(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.claimed(t, "fp-ledger")
	var entries []db.LedgerEntry
	total := decimal.Zero
	for i, amount := range []string{"100.10", "200.20", "300.30"} {
		inv, err := deal.NewInvoice(deal.InvoiceSignal{InvoiceID: fmt.Sprintf("FP-%d", i), Category: "subcontractor",
			Amount: decimal.RequireFromString(amount), Currency: "EUR", Date: deal.NewDate(2026, 2, 1), Supplier: "Initech"}, "EUR")
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, db.LedgerEntry{LedgerEntry: deal.LedgerEntry{Invoice: &inv}})
		total = total.Add(inv.DealAmount)
	}
	r.crash(t, "ledger/committed", "TakeLedger", activities.LedgerBatch{DealID: "fp-ledger", Batch: 1, Entries: entries})
	var n int64
	var sum decimal.Decimal
	if err := r.store.Pool.QueryRow(ctx, "SELECT count(*), COALESCE(sum(deal_amount), 0) FROM cost_invoices WHERE deal_id = 'fp-ledger'").Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	var counted int64
	if err := r.store.Pool.QueryRow(ctx, "SELECT invoice_count FROM deals WHERE deal_id = 'fp-ledger'").Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if n != 3 || counted != 3 || !sum.Equal(total) {
		t.Fatalf("%d invoice rows summing %s, %d counted on the deal; want 3 summing %s", n, sum, counted, total)
	}
}

// TestCrashAfterSlackUpdate: a sign-off's chat.update went through but
// was not recorded; the retry updates the same message again (the same
// content) and posts nothing.
func TestCrashAfterSlackUpdate(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	d := r.claimed(t, "fp-update")
	sum := d.State.Summary()
	if _, err := r.store.SaveRows(ctx, &sum, "", d.Effects.Rows); err != nil {
		t.Fatal(err)
	}
	tk := d.Effects.Rows.Tickets[0]
	n := activities.Notification{Key: "open", DealID: "fp-update", Client: "Globex", Workstream: "Data", Channel: "C_FP",
		People: d.State.Terms.People, Notice: deal.Notice{Kind: deal.NoticeTicketOpened, Ticket: &tk}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &activities.SlackNotifier{API: activities.NewSlackClient(botToken, r.fake.APIURL()), Store: r.store, Log: log}
	if err := (&activities.Activities{Store: r.store, Notifier: s, Log: log}).Notify(ctx, n); err != nil {
		t.Fatal(err)
	}
	so := n
	so.Key, so.Notice.Kind = "signoff", deal.NoticeSignoff
	r.crash(t, "notify/updated", "Notify", so)
	if posts := r.fake.Calls("chat.postMessage"); len(posts) != 1 {
		t.Fatalf("%d posts, want the ticket's one", len(posts))
	}
	if ups := r.fake.Calls("chat.update"); len(ups) != 2 {
		t.Fatalf("%d updates, want the one before the crash and its retry", len(ups))
	}
}
