// Command record re-records the workflow histories that replay_test.go
// replays. Run it when a new workflow version is released, and keep the old
// files: each one proves the current code still replays deals started by
// an older worker.
//
//	go run ./devstack/recordhistory workflows/testdata/deal-v1.json
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/devstack"
	"dealflow/server"
	"dealflow/workflows"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: record OUTPUT.json")
		os.Exit(2)
	}
	if err := record(context.Background(), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "record:", err)
		os.Exit(1)
	}
}

func record(ctx context.Context, out string) error {
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
	s, err := server.Start(ctx, server.Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", TaskQueue: workflows.TaskQueue,
		Temporal: client.Options{HostPort: tsrv.FrontendHostPort()}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer s.Stop()

	id := "replay-1"
	terms := dealtest.Terms(id, time.Now())
	noLateCosts := 0 // the run ends at closed won instead of waiting for late costs
	terms.LateCostDays = &noLateCosts
	if _, err := workflows.OpenDeal(ctx, s.Client, workflows.TaskQueue, workflows.Input{Terms: terms}); err != nil {
		return err
	}
	steps := append(dealtest.ToDelivery(),
		dealtest.Progress("20"),
		dealtest.Invoice("INV-1", "subcontractor", "9000", time.Now().Format("2006-01-02")),
		dealtest.Step{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "critical", "status": "open", "title": "outage"})},
		dealtest.Step{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "critical", "status": "resolved"})},
		// Inputs that later rules refuse (a JSON number for money, a
		// repeated key, a change order driving planned cost negative), so
		// a history holds them and the stricter code must replay it.
		dealtest.Step{Signal: deal.SigInvoice, Payload: []byte(`{"invoice_id":"INV-2","category":"travel","amount":12.5,"currency":"EUR","date":"` + time.Now().Format("2006-01-02") + `"}`)},
		dealtest.Step{Signal: deal.SigProgress, Payload: []byte(`{"pct_complete":"30","pct_complete":"35","by":"` + dealtest.PM + `"}`)},
		dealtest.Step{Signal: deal.SigChangeOrder, Payload: []byte(`{"id":"CO-neg","amount":"10","planned_cost":"-90000","status":"approved","by":"` + dealtest.AE + `"}`)},
		dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "closed_won", "by": dealtest.GM})},
	)
	// One refused and one undecodable signal, so their paths replay too.
	if err := s.Client.SignalWorkflow(ctx, workflows.WorkflowID(id), "", deal.SigInvoice, json.RawMessage(`{"invoice_id":"X","amount":"12.x"}`)); err != nil {
		return err
	}
	if err := s.Client.SignalWorkflow(ctx, workflows.WorkflowID(id), "", "Invoice", json.RawMessage(`{"invoice_id":"X"}`)); err != nil {
		return err
	}
	for _, st := range steps {
		if _, err := workflows.Send(ctx, s.Client, id, st.Signal, st.Payload); err != nil {
			return err
		}
	}
	if err := s.Client.GetWorkflow(ctx, workflows.WorkflowID(id), "").Get(ctx, nil); err != nil {
		return err
	}
	hist := &historypb.History{}
	it := s.Client.GetWorkflowHistory(ctx, workflows.WorkflowID(id), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return err
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		return err
	}
	fmt.Printf("%d events written to %s\n", len(hist.Events), out)
	return os.WriteFile(out, b, 0o644)
}
