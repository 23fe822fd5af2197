package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/intake"
)

// TestIntakeJobLeftWithoutWorkflowIsSwept: a job whose workflow start fails
// is still taken (its rows are stored, and the caller hears 202), and the
// sweeper starts it, once, and it finishes.
func TestIntakeJobLeftWithoutWorkflowIsSwept(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	intake.StartHook = func(string) error {
		if failing.Load() {
			return errors.New("test: Temporal refuses the start")
		}
		return nil
	}
	grace, every := intake.SweepGrace, sweepEvery
	intake.SweepGrace, sweepEvery = 0, 200*time.Millisecond
	t.Cleanup(func() { intake.StartHook, intake.SweepGrace, sweepEvery = nil, grace, every })

	s := startServer(t, func(c *Config) { c.FinanceToken = financeToken })
	id := "sweep-" + strings.TrimPrefix(s.TaskQueue(), "deals-test-")
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	n := intake.SyncRows + 20
	var csv strings.Builder
	csv.WriteString("deal_id,invoice_id,category,amount,currency,date\n")
	want := make([]wantRow, 0, n)
	for row := 1; row <= n; row++ {
		fmt.Fprintf(&csv, "%s,S-%d,subcontractor,10.00,EUR,2026-01-10\n", id, row)
		want = append(want, wantRow{row: row, dealID: id, invoiceID: fmt.Sprintf("S-%d", row), status: deal.Accepted})
	}
	job := postJob(t, s, csv.String(), n)

	// No workflow yet: every start so far failed.
	_, err := s.Client.DescribeWorkflowExecution(context.Background(), intake.WorkflowID(job.JobID), "")
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("the job's workflow exists (%v) though every start failed", err)
	}
	failing.Store(false)
	checkJob(t, "swept job", waitJob(t, s, job), want)
	if _, st := stored(t, s, id); st.Deal.Ledger.Invoices != int64(n) {
		t.Fatalf("%d invoices taken, want %d", st.Deal.Ledger.Invoices, n)
	}
	var started *time.Time
	if err := s.Pool.QueryRow(context.Background(), "SELECT started_at FROM intake_jobs WHERE job_id = $1", job.JobID).Scan(&started); err != nil || started == nil {
		t.Fatalf("the swept job's start is not recorded (%v, %v)", started, err)
	}
}
