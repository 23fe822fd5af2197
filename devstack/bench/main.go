// Command bench measures dealflow's intake against Temporal itself, on one
// dev server and one worker process, and prints the figures the README
// quotes (`make bench`):
//
//   - the raw signal rate to a no-op workflow, and dealflow's invoice intake
//     rate end to end (HTTP CSV -> workflow -> PostgreSQL), and their ratio;
//   - history bytes per invoice, for deals of 100 and of 20,000 invoices;
//   - how long a 100,000-row file over 100 deals takes to be answered, and
//     to be applied (checked to the cent);
//   - with -deals N, the worker's RSS once N deals (half in delivery) are
//     open and PostgreSQL has caught up.
//
// It needs PostgreSQL (DATABASE_URL's server) and builds the worker.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"dealflow/db"
	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/devstack"
	"dealflow/workflows"
)

func main() {
	deals := flag.Int("deals", 0, "also open this many deals (half in delivery) and print the worker's RSS")
	big := flag.Int("big", 20000, "invoices of the large deal whose history bytes per invoice are measured")
	file := flag.Int("file", 100000, "rows of the finance file spread over 100 deals (0: skip)")
	rates := flag.Bool("rates", true, "measure the raw signal rate, the intake rate and history bytes per invoice")
	flag.Parse()
	if err := run(context.Background(), *deals, *big, *file, *rates); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const token = "bench-token-0123456789abcdef0123456789"

type bench struct {
	c     client.Client
	addr  string
	store *db.Store
}

func run(ctx context.Context, deals, big, file int, rates bool) error {
	tsrv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{})
	if err != nil {
		return err
	}
	defer tsrv.Stop()
	dbURL, drop, err := dbtest.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer drop()
	dir, err := os.MkdirTemp("", "dealflow-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "worker")
	if out, err := exec.Command("go", "build", "-o", bin, "./worker").CombinedOutput(); err != nil {
		return fmt.Errorf("building the worker: %v\n%s", err, out)
	}
	w, addr, err := devstack.StartWorker(bin, append(os.Environ(), "DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+tsrv.FrontendHostPort(),
		"HTTP_ADDR=127.0.0.1:0", "FINANCE_API_TOKEN="+token, "DASHBOARD_TOKEN=", "SLACK_BOT_TOKEN="))
	if err != nil {
		return err
	}
	defer func() { _ = w.Process.Kill(); _ = w.Wait() }()
	c, err := client.Dial(client.Options{HostPort: tsrv.FrontendHostPort()})
	if err != nil {
		return err
	}
	defer c.Close()
	pool, err := db.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	b := &bench{c: c, addr: addr, store: &db.Store{Pool: pool}}

	if rates {
		if err := b.rates(ctx, big); err != nil {
			return err
		}
	}
	if file > 0 {
		answered, applied, err := b.bigFile(ctx, file)
		if err != nil {
			return err
		}
		fmt.Printf("%d-row file over 100 deals: answered in %v, applied in %v, exact to the cent\n", file,
			answered.Round(time.Millisecond), applied.Round(time.Second))
	}
	if deals > 0 {
		rss, err := b.manyDeals(ctx, w.Process.Pid, deals)
		if err != nil {
			return err
		}
		fmt.Printf("worker RSS with %d deals open (%d in delivery): %d MiB\n", deals, deals/2, rss>>20)
	}
	return nil
}

// rates prints the signal and intake rates, their ratio, and history
// bytes per invoice.
func (b *bench) rates(ctx context.Context, big int) error {
	raw, err := devstack.RawSignalRate(ctx, b.c, "bench-noop", 20, 20000)
	if err != nil {
		return err
	}
	fmt.Printf("raw signal rate to a no-op workflow:     %8.0f signals/s (20,000 signals over 20 workflows)\n", raw)
	intake, err := b.intakeRate(ctx, "rate", 20, 20000)
	if err != nil {
		return err
	}
	fmt.Printf("invoice intake, HTTP CSV to PostgreSQL:  %8.0f invoices/s (20,000 rows over 20 deals)\n", intake)
	fmt.Printf("ratio:                                   %8.2f\n", intake/raw)

	for _, n := range []int{100, big} {
		per, err := b.historyPerInvoice(ctx, fmt.Sprintf("hist-%d", n), n)
		if err != nil {
			return err
		}
		fmt.Printf("history bytes per invoice, %6d-invoice deal: %6.0f\n", n, per)
	}
	return nil
}

// openInDelivery opens deals prefix-0.. and walks them into delivery.
func (b *bench) openInDelivery(ctx context.Context, prefix string, n int, delivery bool) error {
	return parallel(8, n, func(i int) error {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := workflows.OpenDeal(ctx, b.c, workflows.TaskQueue, workflows.Input{Terms: dealtest.Terms(id, time.Now())}); err != nil {
			return err
		}
		if !delivery {
			return nil
		}
		for _, st := range dealtest.ToDelivery() {
			if res, err := workflows.Send(ctx, b.c, id, st.Signal, st.Payload); err != nil || res.Status != deal.Accepted {
				return fmt.Errorf("deal %s %s: %+v %v", id, st.Signal, res, err)
			}
		}
		return nil
	})
}

// file is a finance CSV of rows spread over deals prefix-0..n-1, and the
// sum of its amounts.
func file(prefix string, deals, rows int) (string, decimal.Decimal) {
	var sb strings.Builder
	sum := decimal.Zero
	sb.WriteString("deal_id,invoice_id,category,amount,currency,date,supplier,memo\n")
	for i := 0; i < rows; i++ {
		amount := decimal.New(int64(12345+i%1000), -2)
		sum = sum.Add(amount)
		fmt.Fprintf(&sb, "%s-%d,%s-INV-%06d,subcontractor,%s,EUR,2026-12-01,Initech GmbH,Sprint timesheets\n", prefix, i%deals, prefix, i, amount)
	}
	return sb.String(), sum
}

// post sends a finance file and answers the job id (or "" when answered
// at once) and how long the answer took.
func (b *bench) post(body string) (string, time.Duration, error) {
	req, _ := http.NewRequest(http.MethodPost, "http://"+b.addr+"/api/invoices.csv", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	took := time.Since(start)
	var ans struct {
		JobID string `json:"job_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || (resp.StatusCode != 200 && resp.StatusCode != 202) {
		return "", took, fmt.Errorf("intake answered %d (%v)", resp.StatusCode, err)
	}
	return ans.JobID, took, nil
}

// applied waits until deals prefix-* hold rows invoices summing to want.
func (b *bench) applied(ctx context.Context, prefix string, rows int, want decimal.Decimal) error {
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		var n int
		sum := decimal.Zero
		err := b.store.Pool.QueryRow(ctx, "SELECT count(*), COALESCE(sum(deal_amount), 0) FROM cost_invoices WHERE deal_id LIKE $1",
			prefix+"-%").Scan(&n, &sum)
		if err != nil {
			return err
		}
		if n == rows {
			if !sum.Equal(want) {
				return fmt.Errorf("%d rows sum to %s, want %s", n, sum, want)
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the rows of %s were not all applied", prefix)
}

func (b *bench) intakeRate(ctx context.Context, prefix string, deals, rows int) (float64, error) {
	if err := b.openInDelivery(ctx, prefix, deals, true); err != nil {
		return 0, err
	}
	body, sum := file(prefix, deals, rows)
	start := time.Now()
	if _, _, err := b.post(body); err != nil {
		return 0, err
	}
	if err := b.applied(ctx, prefix, rows, sum); err != nil {
		return 0, err
	}
	return float64(rows) / time.Since(start).Seconds(), nil
}

// historyPerInvoice is the history bytes of every run of one deal, taken
// before and after n invoices, divided by n.
func (b *bench) historyPerInvoice(ctx context.Context, prefix string, n int) (float64, error) {
	if err := b.openInDelivery(ctx, prefix, 1, true); err != nil {
		return 0, err
	}
	id := prefix + "-0"
	before, err := b.historyBytes(ctx, id)
	if err != nil {
		return 0, err
	}
	body, sum := file(prefix, 1, n)
	if _, _, err := b.post(body); err != nil {
		return 0, err
	}
	if err := b.applied(ctx, prefix, n, sum); err != nil {
		return 0, err
	}
	time.Sleep(2 * time.Second) // the last write and its visibility record
	after, err := b.historyBytes(ctx, id)
	return float64(after-before) / float64(n), err
}

func (b *bench) historyBytes(ctx context.Context, dealID string) (int64, error) {
	resp, err := b.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", workflows.WorkflowID(dealID))})
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range resp.Executions {
		d, err := b.c.DescribeWorkflowExecution(ctx, workflows.WorkflowID(dealID), e.Execution.RunId)
		if err != nil {
			return 0, err
		}
		total += d.WorkflowExecutionInfo.HistorySizeBytes
	}
	return total, nil
}

func (b *bench) bigFile(ctx context.Context, rows int) (time.Duration, time.Duration, error) {
	if err := b.openInDelivery(ctx, "file", 100, true); err != nil {
		return 0, 0, err
	}
	body, sum := file("file", 100, rows)
	start := time.Now()
	_, answered, err := b.post(body)
	if err != nil {
		return 0, 0, err
	}
	if err := b.applied(ctx, "file", rows, sum); err != nil {
		return 0, 0, err
	}
	return answered, time.Since(start), nil
}

func (b *bench) manyDeals(ctx context.Context, pid, n int) (int64, error) {
	if err := b.openInDelivery(ctx, "many-d", n/2, true); err != nil {
		return 0, err
	}
	if err := b.openInDelivery(ctx, "many-p", n-n/2, false); err != nil {
		return 0, err
	}
	// PostgreSQL has caught up once every deal's row is there and no
	// write is pending; give the worker a moment to settle.
	for {
		var rows int
		if err := b.store.Pool.QueryRow(ctx, "SELECT count(*) FROM deals WHERE deal_id LIKE 'many-%'").Scan(&rows); err != nil {
			return 0, err
		}
		if rows == n {
			break
		}
		time.Sleep(time.Second)
	}
	time.Sleep(10 * time.Second)
	return rss(pid)
}

func rss(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}

// parallel runs fn(0..n-1) on k goroutines and returns the first error.
func parallel(k, n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, k)
	for g := 0; g < k; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += k {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	return <-errs
}
