// Command soak runs load and faults on the production-shaped stack
// (devstack/prodstack) and checks that nothing was lost, doubled or stuck
// (`make soak`, `make long`; `make scale` for the scale-out figures):
//
//   - load: deals walked into delivery by scripted Slack clicks (signed
//     interaction requests to the workers' HTTP servers, against the strict
//     fake Slack of activities/slackfake), then invoices by CSV and by the
//     JSON API, sent evenly over the run, with an update probe and an
//     invoice → margin alert probe timing the stack all along;
//   - faults, on loopback only, in a bounded loop: SIGKILL a worker,
//     restart the Temporal server, cut PostgreSQL through the proxy and
//     restore it, SIGKILL an HTTP server in the middle of an upload;
//   - end checks against the load generator's own ledger, and the figures
//     docs/topology.md quotes.
//
// It exits 1 when a check fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"dealflow/activities/slackfake"
	"dealflow/db"
	"dealflow/devstack"
	"dealflow/devstack/prodstack"
)

// The soak's secrets: made up for the run, each at least 32 bytes, on
// loopback only.
const (
	botToken         = "xoxb-soak-0000000000-0000000000000-soak"
	signingSecret    = "soak-signing-secret-0123456789abcdef0123"
	financeToken     = "soak-finance-token-0123456789abcdef01234"
	dashboardToken   = "soak-dashboard-token-0123456789abcdef0123"
	clientLinkSecret = "soak-client-link-secret-0123456789abcdef"
)

type options struct {
	duration   time.Duration
	deals      int
	invoices   int
	cut        time.Duration
	portOffset int
	httpPorts  []int
	scale      bool
	// name names the run's databases, role and log folder (.stack/NAME).
	name string
}

func main() {
	var o options
	minutes := flag.Float64("minutes", 10, "how long the load and the faults run")
	flag.IntVar(&o.deals, "deals", 50, "deals walked through the protocol by Slack clicks")
	flag.IntVar(&o.invoices, "invoices", 20000, "invoices sent by CSV and API over the run")
	flag.DurationVar(&o.cut, "cut", 60*time.Second, "how long PostgreSQL is cut off")
	flag.IntVar(&o.portOffset, "port-offset", 11000, "added to every Temporal port")
	ports := flag.String("http", "18085,18086", "the two workers' HTTP ports")
	flag.StringVar(&o.name, "name", "soak", "names the run's databases (dealflow_NAME...) and its log folder (.stack/NAME)")
	flag.BoolVar(&o.scale, "scale", false, "measure the scale-out figures instead: one worker against two, and the raw signal ceiling")
	flag.Parse()
	o.duration = time.Duration(*minutes * float64(time.Minute))
	for _, p := range strings.Split(*ports, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			fmt.Fprintf(os.Stderr, "soak: -http %q: %v\n", *ports, err)
			os.Exit(2)
		}
		o.httpPorts = append(o.httpPorts, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if o.scale {
		err = runScale(ctx, o)
	} else {
		err = runSoak(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// soak is one run: the stack, the fake Slack, the ledger and the figures.
type soak struct {
	stack  *prodstack.Stack
	fake   *slackfake.Server
	c      client.Client
	pool   *pgxpool.Pool
	http   *front
	deals  []*dealRun
	ledger *ledger
	start  time.Time

	updates, alertLatency series
	pg                    *pgCPU

	mu       sync.Mutex
	faults   []fault
	failures []string
	counts   map[string]int
}

func (s *soak) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.failures = append(s.failures, msg)
	s.mu.Unlock()
	s.logf("FAIL %s", msg)
}

func (s *soak) count(what string) {
	s.mu.Lock()
	s.counts[what]++
	s.mu.Unlock()
}

func (s *soak) logf(format string, args ...any) {
	fmt.Printf("%6s  %s\n", time.Since(s.start).Round(time.Second), fmt.Sprintf(format, args...))
}

// setup starts the fake Slack and the stack (fresh databases) and
// connects to both.
func setup(ctx context.Context, o options, prefix string) (*soak, error) {
	s := &soak{fake: slackfake.New(botToken), ledger: newLedger(), counts: map[string]int{}, start: time.Now()}
	root, err := devstack.ModuleRoot()
	if err != nil {
		return nil, err
	}
	s.stack, err = prodstack.Start(ctx, prodstack.Options{
		Dir: filepath.Join(root, ".stack", prefix), Prefix: "dealflow_" + prefix, Fresh: true,
		PortOffset: o.portOffset, HTTPPorts: o.httpPorts,
		WorkerEnv: []string{"SLACK_BOT_TOKEN=" + botToken, "SLACK_SIGNING_SECRET=" + signingSecret, "SLACK_API_URL=" + s.fake.APIURL(),
			"FINANCE_API_TOKEN=" + financeToken, "DASHBOARD_TOKEN=" + dashboardToken, "CLIENT_LINK_SECRET=" + clientLinkSecret,
			"DEALFLOW_BASE_URL=" + fmt.Sprintf("http://127.0.0.1:%d", o.httpPorts[0])},
	})
	if err != nil {
		s.fake.Close()
		return nil, err
	}
	if s.c, err = client.Dial(client.Options{HostPort: s.stack.Frontend}); err != nil {
		s.close()
		return nil, err
	}
	if s.pool, err = db.Connect(ctx, s.stack.DirectURL); err != nil {
		s.close()
		return nil, err
	}
	s.http = newFront(s.stack.HTTP)
	s.pg = newPGCPU(s.stack.Databases)
	s.start = time.Now()
	return s, nil
}

func (s *soak) close() {
	if s.pg != nil {
		s.pg.stop()
	}
	if s.c != nil {
		s.c.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if s.stack != nil {
		s.stack.Stop()
	}
	s.fake.Close()
}

func runSoak(ctx context.Context, o options) error {
	s, err := setup(ctx, o, o.name)
	if err != nil {
		return err
	}
	defer s.close()
	for i := 0; i < o.deals; i++ {
		s.deals = append(s.deals, newDealRun("soak", i))
	}
	start := s.start
	at := func(frac float64) time.Time { return start.Add(time.Duration(frac * float64(o.duration))) }
	chaosFrom, chaosUntil, end := at(0.2), at(0.75), at(1)
	s.logf("soak: %v, %d deals, %d invoices; faults from %v to %v", o.duration, o.deals, o.invoices,
		chaosFrom.Sub(start).Round(time.Second), chaosUntil.Sub(start).Round(time.Second))
	cpu0 := s.cpu()

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	walked := make(chan struct{})
	go func() { defer close(walked); _ = s.walkAll(loadCtx) }()
	invoicesDone := make(chan error, 1)
	go func() { invoicesDone <- s.invoices(loadCtx, o.invoices, at(0.85)) }()
	var probes sync.WaitGroup
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	for _, p := range []func(context.Context){s.probeUpdates, s.probeAlerts} {
		probes.Add(1)
		go func() { defer probes.Done(); p(probeCtx) }()
	}

	sleepUntil(ctx, chaosFrom)
	chaosStart := time.Now()
	s.chaos(ctx, chaosUntil, o.cut)
	chaosEnd := time.Now()
	// However long the faults took, the run ends with a stretch without
	// them, so "after" has figures too.
	if quiet := chaosEnd.Add(o.duration * 15 / 100); end.Before(quiet) {
		end = quiet
	}
	sleepUntil(ctx, end)

	// The load ends: the invoices still in flight are settled (bounded),
	// the walks must be done.
	select {
	case err := <-invoicesDone:
		if err != nil {
			s.fail("sending invoices: %v", err)
		}
	case <-time.After(3 * time.Minute):
		s.fail("the invoices were not all answered 3 minutes after the load ended")
	}
	stopProbes()
	probes.Wait()
	stopLoad()
	<-walked
	loadEnd := time.Now()
	cpu := s.cpu().minus(cpu0)

	s.check(ctx)
	s.report(o, chaosStart, chaosEnd, loadEnd, cpu)
	if len(s.failures) > 0 {
		return fmt.Errorf("%d checks failed (listed above)", len(s.failures))
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}

// report prints the figures docs/topology.md quotes.
func (s *soak) report(o options, chaosStart, chaosEnd, loadEnd time.Time, cpu cpuUse) {
	fmt.Printf("\nSoak report (%v of load, %d deals, %d invoices + probes; finished in %v)\n", o.duration, o.deals, o.invoices, time.Since(s.start).Round(time.Second))
	s.mu.Lock()
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %-40s %d\n", k, s.counts[k])
	}
	fmt.Printf("\nFaults (recovery: until every deal answers an update and the process hit serves again)\n")
	for _, f := range s.faults {
		line := fmt.Sprintf("  at %6s  %-40s recovered in %8s", f.At.Sub(s.start).Round(time.Second), f.Name, round(f.Recovery))
		if f.Outage > 0 {
			line += fmt.Sprintf(" after an outage of %s", round(f.Outage))
		}
		if f.Err != "" {
			line += "  FAILED: " + f.Err
		}
		fmt.Println(line)
	}
	s.mu.Unlock()
	fmt.Printf("\nSupervisor\n")
	for _, n := range s.stack.Notes() {
		fmt.Printf("  at %6s  %s\n", n.At.Sub(s.start).Round(time.Second), n.Text)
	}
	fmt.Printf("\nLatency                       before the faults            during the faults            after the faults\n")
	for _, r := range []struct {
		name string
		s    *series
	}{{"update (answered)", &s.updates}, {"invoice → margin alert", &s.alertLatency}} {
		fmt.Printf("  %-24s\n", r.name)
		for _, ph := range []struct {
			name     string
			from, to time.Time
		}{{"before", s.start, chaosStart}, {"during", chaosStart, chaosEnd}, {"after", chaosEnd, loadEnd}} {
			fmt.Printf("    %-8s %s\n", ph.name, quantiles(r.s.between(ph.from, ph.to)))
		}
	}
	var walkTimes []sample
	for _, d := range s.deals {
		if d.WalkTook > 0 {
			walkTimes = append(walkTimes, sample{Took: d.WalkTook})
		}
	}
	fmt.Printf("  %-24s %s\n", "deal walk, open → delivery", quantiles(walkTimes))
	taken := 0
	s.ledger.mu.Lock()
	for _, v := range s.ledger.inv {
		if v.Taken {
			taken++
		}
	}
	s.ledger.mu.Unlock()
	cpu.print(taken, len(s.deals))
	fmt.Println()
	if len(s.failures) == 0 {
		fmt.Println("PASS: every check held")
		return
	}
	fmt.Printf("FAIL: %d checks failed\n", len(s.failures))
	for _, f := range s.failures {
		fmt.Println("  " + f)
	}
}

// pgCPU samples the CPU time of the PostgreSQL backends serving the
// stack's databases every second (a backend that ends between samples
// loses at most a second).
type pgCPU struct {
	mu    sync.Mutex
	max   map[int]time.Duration
	done  chan struct{}
	ended chan struct{}
}

func newPGCPU(databases []string) *pgCPU {
	p := &pgCPU{max: map[int]time.Duration{}, done: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(p.ended)
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, devstack.DefaultDatabaseURL)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		for {
			rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = ANY($1)", databases)
			if err == nil {
				var pids []int
				for rows.Next() {
					var pid int
					if rows.Scan(&pid) == nil {
						pids = append(pids, pid)
					}
				}
				rows.Close()
				p.mu.Lock()
				for _, pid := range pids {
					p.max[pid] = max(p.max[pid], prodstack.ProcCPU(pid))
				}
				p.mu.Unlock()
			}
			select {
			case <-p.done:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return p
}

func (p *pgCPU) total() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t time.Duration
	for _, d := range p.max {
		t += d
	}
	return t
}

func (p *pgCPU) stop() {
	close(p.done)
	<-p.ended
}

// cpuUse is CPU time by component.
type cpuUse struct {
	names []string
	use   map[string]time.Duration
}

func (s *soak) cpu() cpuUse {
	c := cpuUse{use: map[string]time.Duration{}}
	add := func(name string, d time.Duration) { c.names = append(c.names, name); c.use[name] = d }
	add("Temporal server", s.stack.Temporal.CPU())
	for _, w := range s.stack.Workers {
		add(w.Name, w.CPU())
	}
	add("PostgreSQL (the stack's backends)", s.pg.total())
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	add("load generator (with the fake Slack)", time.Duration(ru.Utime.Nano()+ru.Stime.Nano()))
	return c
}

func (c cpuUse) minus(o cpuUse) cpuUse {
	out := cpuUse{names: c.names, use: map[string]time.Duration{}}
	for _, n := range c.names {
		out.use[n] = c.use[n] - o.use[n]
	}
	return out
}

func (c cpuUse) print(invoices, deals int) {
	fmt.Printf("\nCPU-seconds (whole run)                     total   per 1,000 invoices   per deal\n")
	var total time.Duration
	for _, n := range c.names {
		d := c.use[n]
		total += d
		fmt.Printf("  %-38s %7.1f   %18.2f   %15.2f\n", n, d.Seconds(), d.Seconds()*1000/float64(max(invoices, 1)), d.Seconds()/float64(max(deals, 1)))
	}
	fmt.Printf("  %-38s %7.1f\n", "all", total.Seconds())
}
