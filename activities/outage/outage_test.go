// Package outage_test shows notices reaching Slack exactly once, in order
// per deal, through a Slack outage and a worker killed with SIGKILL, on the
// real Temporal dev server and PostgreSQL with the strict fake Slack.
//
// The worker runs in a process of its own (this test binary, started again
// with outageWorkerEnv set), so it can be killed like a real one. Its
// workflow sends each deal's notices the way a deal does: one at a time, in
// order, the next once the one before is done, each retried until Slack
// takes it.
package outage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/activities/failpoint"
	"dealflow/activities/slackfake"
	"dealflow/db"
	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/devstack"
)

const (
	outageWorkerEnv = "DEALFLOW_OUTAGE_WORKER"
	botToken        = "xoxb-outage"
	deals           = 20
	noticesPerDeal  = 10
)

var temporalHostPort string

func TestMain(m *testing.M) {
	if os.Getenv(outageWorkerEnv) != "" {
		if err := runWorker(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	srv, err := devstack.StartTemporal(context.Background(), devstack.TemporalOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	temporalHostPort = srv.FrontendHostPort()
	code := m.Run()
	_ = srv.Stop()
	os.Exit(code)
}

// Notices is one deal's run of notices.
type Notices struct {
	DealID  string `json:"deal_id"`
	Channel string `json:"channel"`
	Count   int    `json:"count"`
}

// NoticesWorkflow sends a deal's notices as the deal's notify loop does:
// in order, one at a time, each retried (quickly here) until it is sent.
func NoticesWorkflow(ctx workflow.Context, in Notices) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 3 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1.5, MaximumInterval: time.Second},
	})
	for i := range in.Count {
		n := activities.Notification{Key: noticeKey(i), DealID: in.DealID, Client: "Globex", Workstream: in.DealID, Channel: in.Channel,
			Notice: deal.Notice{Kind: deal.NoticeIncident, Incident: &deal.Incident{IncidentID: noticeKey(i), Severity: "major", Status: "open", Title: "Slow"}}}
		if err := workflow.ExecuteActivity(ctx, "Notify", n).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// Step runs one activity by name with a JSON input: how the failpoint
// tests drive each activity through Temporal.
type Step struct {
	Activity string          `json:"activity"`
	Input    json.RawMessage `json:"input"`
}

// StepWorkflow runs the step's activity, retried until it completes.
func StepWorkflow(ctx workflow.Context, st Step) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 3 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumInterval: time.Second},
	})
	return workflow.ExecuteActivity(ctx, st.Activity, st.Input).Get(ctx, nil)
}

func noticeKey(i int) string { return fmt.Sprintf("n%03d", i) }

// runWorker is the worker process: the real Notify activity against the
// fake Slack and PostgreSQL the test names in the environment.
func runWorker() error {
	ctx := context.Background()
	pool, err := db.Connect(ctx, os.Getenv("DEALFLOW_OUTAGE_DB"))
	if err != nil {
		return err
	}
	store := &db.Store{Pool: pool}
	// The client gives up after 1 s, well inside the activity's 3 s.
	api := activities.NewSlackClient(botToken, os.Getenv("DEALFLOW_OUTAGE_SLACK"), slack.OptionHTTPClient(&http.Client{Timeout: time.Second}))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := client.Dial(client.Options{HostPort: os.Getenv("DEALFLOW_OUTAGE_TEMPORAL"), Logger: log})
	if err != nil {
		return err
	}
	w := worker.New(c, os.Getenv("DEALFLOW_OUTAGE_QUEUE"), worker.Options{})
	w.RegisterWorkflow(NoticesWorkflow)
	w.RegisterWorkflow(StepWorkflow)
	w.RegisterActivity(&activities.Activities{Store: store, Log: log,
		Notifier: &activities.SlackNotifier{API: api, Store: store, Log: log}})
	return w.Run(worker.InterruptCh())
}

// startWorker starts a worker process; armed names the failpoints that
// kill it (test builds with -tags failpoints only).
func startWorker(t *testing.T, env []string, armed string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, outageWorkerEnv+"=1", failpoint.Env+"="+armed)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func TestNoticesExactlyOnceThroughOutageAndKill(t *testing.T) {
	ctx := context.Background()
	store, dbURL := dbtest.StoreURL(t)
	pool := store.Pool
	fake := slackfake.New(botToken)
	t.Cleanup(fake.Close)
	queue := "outage-" + strings.ReplaceAll(t.Name(), "/", "-") + fmt.Sprint(time.Now().UnixNano())
	env := []string{"DEALFLOW_OUTAGE_DB=" + dbURL, "DEALFLOW_OUTAGE_SLACK=" + fake.APIURL(),
		"DEALFLOW_OUTAGE_TEMPORAL=" + temporalHostPort, "DEALFLOW_OUTAGE_QUEUE=" + queue}

	// Slack is down before the notices come due: every way it fails, round
	// and round.
	fake.Outage("chat.postMessage",
		slackfake.Fault{Status: http.StatusInternalServerError},
		slackfake.Fault{Delay: 1500 * time.Millisecond, Taken: true}, // taken, answered after the client gave up
		slackfake.Fault{Delay: 1500 * time.Millisecond},              // a time-out that took nothing
		slackfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1},
		slackfake.Fault{Status: http.StatusServiceUnavailable},
	)
	first := startWorker(t, env, "")
	c, err := client.Dial(client.Options{HostPort: temporalHostPort, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	runs := make([]client.WorkflowRun, deals)
	for d := range deals {
		in := Notices{DealID: fmt.Sprintf("D%02d", d), Channel: fmt.Sprintf("C%02d", d), Count: noticesPerDeal}
		runs[d], err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue + "-" + in.DealID, TaskQueue: queue}, NoticesWorkflow, in)
		if err != nil {
			t.Fatal(err)
		}
	}
	// Kill the worker in the middle of the outage, once posts were taken
	// without their answer reaching it.
	dealtest.Eventually(t, "posts taken but answered too late", func() bool { return len(fake.Messages()) >= 5 && fake.FaultsServed() >= 60 })
	if err := first.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	taken := len(fake.Messages())

	// A new worker; in builds with failpoints it dies again between a post
	// Slack took and its record, and a third one finishes.
	second := startWorker(t, env, "notify/posted")
	fake.Recover("")
	if failpoint.Enabled {
		err := second.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != -1 {
			t.Fatalf("the armed worker ended with %v, want killed at its failpoint", err)
		}
		startWorker(t, env, "")
	}
	for _, r := range runs {
		if err := r.Get(ctx, nil); err != nil {
			t.Fatalf("deal %s: %v", r.GetID(), err)
		}
	}

	// Each notice is in its deal's channel exactly once, in order.
	byChannel := map[string][]string{}
	for _, m := range fake.Messages() {
		byChannel[m.Channel] = append(byChannel[m.Channel], slackfake.NoticeKey(m.Metadata))
	}
	for d := range deals {
		ch := fmt.Sprintf("C%02d", d)
		var want []string
		for i := range noticesPerDeal {
			want = append(want, noticeKey(i))
		}
		if got := strings.Join(byChannel[ch], ","); got != strings.Join(want, ",") {
			t.Errorf("channel %s holds %s, want %s", ch, got, strings.Join(want, ","))
		}
	}
	var recorded int
	if err := pool.QueryRow(ctx, "SELECT count(DISTINCT ts) FROM slack_messages").Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != deals*noticesPerDeal {
		t.Errorf("%d messages recorded, want %d", recorded, deals*noticesPerDeal)
	}
	t.Logf("%d posts taken during the outage, %d faults served, %d history reads", taken, fake.FaultsServed(),
		len(fake.Calls("conversations.history")))
}
