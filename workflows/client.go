package workflows

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	return OpenDealNamed(ctx, c, taskQueue, in, nil)
}

// OpenDealNamed is OpenDeal showing people by the names given in the
// Temporal UI's summary and details. Those are fixed when the workflow
// starts, so a person whose name is not known then shows as the id for the
// deal's life; the search attributes hold ids whatever the names.
func OpenDealNamed(ctx context.Context, c client.Client, taskQueue string, in Input, names deal.Names) (client.WorkflowRun, error) {
	// The firm's calendar goes into the terms here, where the deal is
	// opened, so the workflow computes every business day from its input.
	if in.TimeZone == "" && len(in.Holidays) == 0 {
		zone, holidays, err := deal.FirmCalendar()
		if err != nil {
			return nil, err
		}
		in.TimeZone, in.Holidays = zone, holidays
	}
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
		StaticSummary:                            Summary(in.Terms, names),
		StaticDetails: fmt.Sprintf("Client: %s  \nWorkstream: %s  \nAE: %s  \nPM: %s  \nGM: %s  \nContract: %s %s, target margin %s%%",
			in.Client, in.Workstream, names.Show(in.People.AE), names.Show(in.People.PM), names.Show(in.People.GM),
			in.ContractValue.StringFixed(2), in.Currency, in.TargetMarginPct),
		TypedSearchAttributes: initialSearchAttributes(in.Terms),
	}, DealWorkflow, in)
}

// Send applies one signal through the update and returns its outcome, so
// the sender learns at once whether it was accepted, a repeat, or refused.
// The payload's idempotency key (its "key" field) names the update; a
// payload without one gets a fresh key here, so this call's own retries
// apply once. A caller that may send the same change again (a Slack
// retry, a re-run script) sets the key itself: see WithKey.
func Send(ctx context.Context, c client.Client, dealID, signal string, payload []byte) (deal.Result, error) {
	key := keyOf(signal, payload, false)
	if key == "" {
		key = "req-" + randomID()
		payload = WithKey(payload, key)
	}
	var res deal.Result
	err := update(ctx, c, dealID, UpdateSignal, key, SignalRequest{Signal: signal, Payload: json.RawMessage(payload)}, &res)
	return res, err
}

// AppliedKeys finds the first answer a deal gave to a key: PostgreSQL's
// record of every key applied (db.Store.AppliedKey).
type AppliedKeys interface {
	AppliedKey(ctx context.Context, dealID, key string) (deal.Result, bool, error)
}

// SendOnce is Send for a sender that may send the same change again long
// after (Slack, the starter): a key the deal applied, in whatever run,
// gets its first answer from PostgreSQL without reaching the deal.
func SendOnce(ctx context.Context, c client.Client, keys AppliedKeys, dealID, signal string, payload []byte) (deal.Result, error) {
	if key := keyOf(signal, payload, false); key != "" {
		res, ok, err := keys.AppliedKey(ctx, dealID, key)
		if err != nil {
			return deal.Result{}, err
		}
		if ok {
			return res, nil
		}
	}
	return Send(ctx, c, dealID, signal, payload)
}

// WithKey sets the idempotency key of a signal payload (a JSON object).
// A payload that is not an object is returned as it is, for the deal to
// refuse.
func WithKey(payload []byte, key string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil || m == nil {
		return payload
	}
	m["key"] = mustJSON(key)
	return mustJSON(m)
}

// SendInvoices sends one batch of a deal's invoices (at most MaxBatch)
// through the `invoices` update and returns an answer per invoice. A batch
// whose rows are named (Sources) is named by them, so sending it again
// (an intake job's retry) is the same update.
func SendInvoices(ctx context.Context, c client.Client, dealID string, b InvoiceBatch) ([]deal.Result, error) {
	id := "req-" + randomID()
	if len(b.Sources) > 0 {
		h := sha256.New()
		for _, s := range b.Sources {
			h.Write([]byte(s + "\x00"))
		}
		id = "rows-" + hex.EncodeToString(h.Sum(nil)[:16])
	}
	var res []deal.Result
	err := update(ctx, c, dealID, UpdateInvoices, id, b, &res)
	return res, err
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// update runs one update to its answer, named by updateID, so that a
// retry Temporal has seen in this run is answered without running again
// (and the deal's key window answers one from an earlier run). While one
// of the deal's workflow tasks failed and is being retried, Temporal turns
// updates away (workflow not ready): those are sent again, so callers
// never see them. An update that reaches the deal as it continues as new
// is moved to the next run by the server and the SDK.
func update(ctx context.Context, c client.Client, dealID, name, updateID string, arg, out any) error {
	pause := 20 * time.Millisecond
	for {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: WorkflowID(dealID), UpdateName: name, UpdateID: updateID, Args: []any{arg},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, out)
		}
		if !retryable(err) {
			return describe(dealID, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

func retryable(err error) bool {
	var notReady *serviceerror.WorkflowNotReady
	return errors.As(err, &notReady)
}

// Record asks the running workflow for the deal's process state. The
// deal's lists are in PostgreSQL (db.Store.LoadRecord).
func Record(ctx context.Context, c client.Client, dealID string) (*Status, error) {
	v, err := c.QueryWorkflow(ctx, WorkflowID(dealID), "", QueryRecord)
	if err != nil {
		return nil, describe(dealID, err)
	}
	var st Status
	if err := v.Get(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

func describe(dealID string, err error) error {
	if err == nil {
		return nil
	}
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
