package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"dealflow/db"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/devstack"
	"dealflow/workflows"
)

// TestKilledWorkerFinishesTheFile kills the worker with SIGKILL while it is
// taking a 2,000-row finance file, starts it again, and checks that the
// job finishes with every row applied exactly once: the ledger is exact to
// the cent in PostgreSQL and in the workflow, and every row is answered
// accepted, including those taken just before the kill.
func TestKilledWorkerFinishesTheFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dev server and the worker binary twice")
	}
	ctx := context.Background()
	tsrv, dbURL := startStack(t, devstack.TemporalOptions{})
	bin := buildWorker(t)
	const token = "crash-test-token-0123456789abcdef"
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+tsrv.FrontendHostPort(), "HTTP_ADDR=127.0.0.1:0",
		"FINANCE_API_TOKEN="+token, "DASHBOARD_TOKEN=")

	w1, addr := startWorker(t, bin, env)
	c, err := client.Dial(client.Options{HostPort: tsrv.FrontendHostPort()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := "crash-1"
	if _, err := workflows.OpenDeal(ctx, c, workflows.TaskQueue, workflows.Input{Terms: dealtest.Terms(id, time.Now())}); err != nil {
		t.Fatal(err)
	}
	for _, st := range dealtest.ToDelivery() {
		if res, err := workflows.Send(ctx, c, id, st.Signal, st.Payload); err != nil || res.Status != deal.Accepted {
			t.Fatalf("%s: %+v %v", st.Signal, res, err)
		}
	}

	want := decimal.Zero
	var csv strings.Builder
	csv.WriteString("deal_id,invoice_id,category,amount,currency,date\n")
	for i := 0; i < 2000; i++ {
		amount := decimal.New(int64(10000+i*7), -2)
		want = want.Add(amount)
		fmt.Fprintf(&csv, "%s,K-%04d,internal,%s,EUR,2026-12-01\n", id, i, amount)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/invoices.csv", strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		JobID string `json:"job_id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || job.JobID == "" {
		t.Fatalf("the file was answered %d, job %q", resp.StatusCode, job.JobID)
	}

	pool, err := db.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	taken := func() (n int) {
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM cost_invoices WHERE deal_id = $1", id).Scan(&n)
		return n
	}
	// Kill the worker once the deal has taken part of the file.
	dealtest.Eventually(t, "the deal to take part of the file", func() bool { return taken() > 0 })
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w1.Wait()
	if n := taken(); n >= 2000 {
		t.Logf("the whole file was taken before the kill landed (%d rows); the restart still has to finish the job", n)
	} else {
		t.Logf("killed with %d of 2,000 rows taken", n)
	}

	startWorker(t, bin, env)
	deadline := time.Now().Add(3 * time.Minute)
	var finished bool
	for !finished && time.Now().Before(deadline) {
		_ = pool.QueryRow(ctx, "SELECT finished_at IS NOT NULL FROM intake_jobs WHERE job_id = $1", job.JobID).Scan(&finished)
		time.Sleep(200 * time.Millisecond)
	}
	if !finished {
		t.Fatal("the job did not finish after the restart")
	}
	var accepted, rows int
	if err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE status = 'accepted'), count(*) FROM intake_rows WHERE job_id = $1",
		job.JobID).Scan(&accepted, &rows); err != nil || accepted != 2000 || rows != 2000 {
		t.Fatalf("%d of %d rows answered accepted (%v)", accepted, rows, err)
	}
	var sum decimal.Decimal
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*), sum(deal_amount) FROM cost_invoices WHERE deal_id = $1", id).Scan(&n, &sum); err != nil ||
		n != 2000 || !sum.Equal(want) {
		t.Fatalf("%d invoices summing to %s in PostgreSQL (%v); want 2,000 summing to %s", n, sum, err, want)
	}
	var st *workflows.Status
	dealtest.Eventually(t, "the workflow to count every invoice", func() bool {
		st, err = workflows.Record(ctx, c, id)
		return err == nil && st.Deal.Ledger.Invoices == 2000
	})
	if !st.Deal.Margin.ActualCost.Equal(want) {
		t.Fatalf("the workflow's actual cost %s, want %s", st.Deal.Margin.ActualCost, want)
	}
}

// startWorker runs the worker binary until the test ends.
func startWorker(t *testing.T, bin string, env []string) (*exec.Cmd, string) {
	t.Helper()
	cmd, addr, err := devstack.StartWorker(bin, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, addr
}
