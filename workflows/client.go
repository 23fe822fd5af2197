package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"dealflow/deal"
)

// The functions below are the client side of DealWorkflow, shared by the
// starter, the HTTP server (Slack, finance intake) and the tests.

// ErrUnknownDeal is returned for a deal with no running workflow.
var ErrUnknownDeal = errors.New("unknown deal")

// OpenDeal checks the terms and starts the deal's workflow on the task
// queue (TaskQueue in production). Opening the same deal twice is refused by
// Temporal's workflow-id uniqueness.
func OpenDeal(ctx context.Context, c client.Client, taskQueue string, in Input) (client.WorkflowRun, error) {
	if err := in.Normalize(); err != nil {
		return nil, err
	}
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       WorkflowID(in.DealID),
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Without this the SDK hands back the existing run as if it were new.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            Summary(in.Terms),
		StaticDetails: fmt.Sprintf("Client: %s  \nWorkstream: %s  \nAE: %s  \nPM: %s  \nGM: %s  \nContract: %s %s, target margin %s%%",
			in.Client, in.Workstream, in.People.AE, in.People.PM, in.People.GM, in.ContractValue.StringFixed(2), in.Currency, in.TargetMarginPct),
		TypedSearchAttributes: initialSearchAttributes(in.Terms),
	}, DealWorkflow, in)
}

// Send applies one signal through the update and returns its outcome, so
// the sender learns at once whether it was accepted, a repeat, or refused.
func Send(ctx context.Context, c client.Client, dealID, signal string, payload []byte) (deal.Result, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   WorkflowID(dealID),
		UpdateName:   UpdateSignal,
		Args:         []any{SignalRequest{Signal: signal, Payload: json.RawMessage(payload)}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return deal.Result{}, describe(dealID, err)
	}
	var res deal.Result
	if err := h.Get(ctx, &res); err != nil {
		return deal.Result{}, describe(dealID, err)
	}
	return res, nil
}

// Record asks the running workflow for the deal record.
func Record(ctx context.Context, c client.Client, dealID string) (*deal.Record, error) {
	v, err := c.QueryWorkflow(ctx, WorkflowID(dealID), "", QueryRecord)
	if err != nil {
		return nil, describe(dealID, err)
	}
	var r deal.Record
	if err := v.Get(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

func describe(dealID string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w %s: no workflow %s (is the deal id right, and is it still open?)", ErrUnknownDeal, dealID, WorkflowID(dealID))
	}
	return err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only for types of this module, which always marshal
	}
	return b
}
