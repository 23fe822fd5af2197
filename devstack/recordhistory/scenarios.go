package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/intake"
	"dealflow/server"
	"dealflow/workflows"
)

// financeToken turns on finance intake in the recording worker only.
const financeToken = "recordhistory-finance-token-0123456789abcdef"

// A scenario plays one story against the worker and names the workflows
// whose histories it leaves, each of which has ended.
type scenario struct {
	name, about string
	play        func(r *run) ([]recorded, error)
}

// recorded is a workflow to save; part tells apart two workflows of one
// scenario in the file names.
type recorded struct{ workflowID, part string }

func dealRun(id string) []recorded { return []recorded{{workflowID: workflows.WorkflowID(id)}} }

// scenarios is the corpus. Add new ones at the end with new names; never
// change what an existing one sends once the corpus is frozen (its files
// keep the name, and a re-recording under the same name would say
// something else than the frozen file).
var scenarios = []scenario{
	{"deal-updates", "every signal through the `signal` update, and an `invoices` batch, to closed_won", playUpdates},
	{"deal-plain-signals", "every signal as a plain Temporal signal, to closed_won", playPlainSignals},
	{"deal-refusals", "a bad field, the wrong person, out of turn, an unknown signal name, an undecodable payload", playRefusals},
	{"deal-handover-gate", "the handover refused (wrong person, incomplete checklist), delivery refused before it, then signed off", playHandoverGate},
	{"deal-client-link", "the client asks for changes through a link, then approves", playClientLink},
	{"deal-margin-alerts", "the margin-check timer (every second) with at_risk, off_track and recovery alerts", playMarginAlerts},
	{"deal-continue-as-new", "continue_after_events=60 under a load of updates and plain signals: runs carry state", playContinueAsNew},
	{"deal-activity-retry", "PostgreSQL fails a row write and a ledger write once; the activities retry", playActivityRetry},
	{"intake-job", "a finance CSV over the job threshold: JobWorkflow, and the deals' `invoices` updates with sources", playIntakeJob},
}

// run is the recording session: the worker and the scenario's deadline.
type run struct {
	ctx context.Context
	s   *server.Server
}

// terms are the test deal's terms, ending at once when closed (no late
// costs), so every history is of an ended workflow.
func terms(id string) workflows.Input {
	t := dealtest.Terms(id, time.Now())
	none := 0
	t.LateCostDays = &none
	return workflows.Input{Terms: t}
}

func (r *run) open(in workflows.Input) error {
	_, err := workflows.OpenDeal(r.ctx, r.s.Client, workflows.TaskQueue, in)
	return err
}

// update sends each step through the `signal` update and checks the
// answer, so a scenario that stops doing what it says fails loudly.
func (r *run) update(id, want string, steps ...dealtest.Step) error {
	for _, st := range steps {
		res, err := workflows.Send(r.ctx, r.s.Client, id, st.Signal, st.Payload)
		if err != nil {
			return fmt.Errorf("%s %s: %w", st.Signal, st.Payload, err)
		}
		if res.Status != want {
			return fmt.Errorf("%s %s answered %s (%s), want %s", st.Signal, st.Payload, res.Status, res.Reason, want)
		}
	}
	return nil
}

// signal sends each step as a plain signal and waits until the deal took
// it, so plain signals keep their order.
func (r *run) signal(id string, steps ...dealtest.Step) error {
	for _, st := range steps {
		if err := r.signalRaw(id, st.Signal, json.RawMessage(st.Payload)); err != nil {
			return err
		}
	}
	return nil
}

// signalRaw sends one plain signal with arg as its payload ([]byte goes as
// binary, which the deal cannot read as JSON) and waits until the deal
// took it: a taken signal, accepted or refused, moves the deal's version.
func (r *run) signalRaw(id, name string, arg any) error {
	before, err := r.version(id)
	if err != nil {
		return err
	}
	if err := r.s.Client.SignalWorkflow(r.ctx, workflows.WorkflowID(id), "", name, arg); err != nil {
		return fmt.Errorf("signal %s: %w", name, err)
	}
	for {
		v, err := r.version(id)
		if err != nil {
			return err
		}
		if v > before {
			return nil
		}
		if err := r.pause(20 * time.Millisecond); err != nil {
			return fmt.Errorf("signal %s was not taken: %w", name, err)
		}
	}
}

func (r *run) version(id string) (int64, error) {
	for {
		st, err := workflows.Record(r.ctx, r.s.Client, id)
		if err == nil {
			return st.Deal.Version, nil
		}
		// A query during a hand-over to a new run may fail for a moment.
		if perr := r.pause(50 * time.Millisecond); perr != nil {
			return 0, err
		}
	}
}

func (r *run) pause(d time.Duration) error {
	select {
	case <-r.ctx.Done():
		return r.ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// end closes the deal (won through delivery, or lost) and waits for its
// workflow to complete.
func (r *run) end(id string, last dealtest.Step) error {
	if err := r.update(id, deal.Accepted, last); err != nil {
		return err
	}
	return r.s.Client.GetWorkflow(r.ctx, workflows.WorkflowID(id), "").Get(r.ctx, nil)
}

func closedWon() dealtest.Step {
	return dealtest.Step{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "closed_won", "by": dealtest.GM})}
}

func closedLost() dealtest.Step {
	return dealtest.Step{Signal: deal.SigClose, Payload: dealtest.JSON(map[string]string{"outcome": "lost", "by": dealtest.AE, "reason": "budget cut"})}
}

func today() string { return time.Now().Format("2006-01-02") }

// delivery are the signals of a deal in delivery, one of each kind.
func delivery() []dealtest.Step {
	return []dealtest.Step{
		dealtest.Progress("20"),
		dealtest.Invoice("INV-1", "subcontractor", "900", today()),
		{Signal: deal.SigFee, Payload: dealtest.JSON(map[string]string{"fee_id": "F-1", "kind": "invoiced", "amount": "20000", "currency": "EUR", "date": today()})},
		{Signal: deal.SigChangeOrder, Payload: dealtest.JSON(map[string]string{"id": "CO-1", "amount": "5000", "planned_cost": "3000", "status": "approved", "by": dealtest.AE})},
		{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "critical", "status": "open", "title": "outage"})},
		{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "critical", "status": "resolved"})},
		// A change carrying its idempotency key and when the person acted.
		{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I2", "severity": "minor", "status": "resolved", "title": "slow page", "key": "incident-I2-resolved", "acted_at": time.Now().UTC().Format(time.RFC3339)})},
		dealtest.Ask("Q1", dealtest.PM, "Was the data migration in the SOW?"),
		dealtest.Reply("Q1", dealtest.AE, "Yes: section 3, up to 2 million rows."),
		{Signal: deal.SigStage, Payload: dealtest.JSON(map[string]string{"to": "maintenance", "by": dealtest.PM})},
	}
}

func playUpdates(r *run) ([]recorded, error) {
	id := "corpus-updates"
	if err := r.open(terms(id)); err != nil {
		return nil, err
	}
	if err := r.update(id, deal.Accepted, append(dealtest.ToDelivery(), delivery()...)...); err != nil {
		return nil, err
	}
	// A repeat answers duplicate.
	if err := r.update(id, deal.Duplicate, dealtest.Invoice("INV-1", "subcontractor", "900", today())); err != nil {
		return nil, err
	}
	inv := func(n int) json.RawMessage {
		return dealtest.Invoice(fmt.Sprintf("B-%d", n), "license", "100", today()).Payload
	}
	res, err := workflows.SendInvoices(r.ctx, r.s.Client, id, workflows.InvoiceBatch{Invoices: []json.RawMessage{inv(1), inv(2), inv(3)}})
	if err != nil {
		return nil, err
	}
	for _, x := range res {
		if x.Status != deal.Accepted {
			return nil, fmt.Errorf("batch invoice answered %s (%s)", x.Status, x.Reason)
		}
	}
	return dealRun(id), r.end(id, closedWon())
}

func playPlainSignals(r *run) ([]recorded, error) {
	id := "corpus-plain"
	if err := r.open(terms(id)); err != nil {
		return nil, err
	}
	if err := r.signal(id, append(dealtest.ToDelivery(), delivery()...)...); err != nil {
		return nil, err
	}
	if err := r.signal(id, closedWon()); err != nil {
		return nil, err
	}
	return dealRun(id), r.s.Client.GetWorkflow(r.ctx, workflows.WorkflowID(id), "").Get(r.ctx, nil)
}

func playRefusals(r *run) ([]recorded, error) {
	id := "corpus-refusals"
	if err := r.open(terms(id)); err != nil {
		return nil, err
	}
	refused := []dealtest.Step{
		// A bad field: one a commitment does not have.
		{Signal: deal.SigCommitment, Payload: []byte(`{"id":"c1","kind":"discount","text":"10% off","value":"10%","by":"U_AE","extra":1}`)},
		// The wrong person: the AE approving the presales ticket.
		dealtest.Approve("discovery", dealtest.AE, "internal"),
		// Out of turn: closing won before the tickets are signed off.
		dealtest.Won(),
		// Out of turn: the handover of a deal not won.
		dealtest.Handover(),
	}
	if err := r.update(id, deal.Refused, refused...); err != nil {
		return nil, err
	}
	if err := r.signal(id, dealtest.Step{Signal: deal.SigInvoice, Payload: []byte(`{"invoice_id":"X","amount":"12.x"}`)}); err != nil {
		return nil, err
	}
	// An unknown name ("Invoice" for "invoice"), as a plain signal.
	if err := r.signalRaw(id, "Invoice", json.RawMessage(`{"invoice_id":"X"}`)); err != nil {
		return nil, err
	}
	// A payload that is not JSON (bytes), and JSON of the wrong shape.
	if err := r.signalRaw(id, deal.SigSignoff, []byte("not json")); err != nil {
		return nil, err
	}
	if err := r.signalRaw(id, deal.SigHandover, json.RawMessage(`"approve"`)); err != nil {
		return nil, err
	}
	st, err := workflows.Record(r.ctx, r.s.Client, id)
	if err != nil {
		return nil, err
	}
	if st.Deal.Refusals != 8 {
		return nil, fmt.Errorf("the deal counts %d refusals, want 8", st.Deal.Refusals)
	}
	return dealRun(id), r.end(id, closedLost())
}

func playHandoverGate(r *run) ([]recorded, error) {
	id := "corpus-handover"
	if err := r.open(terms(id)); err != nil {
		return nil, err
	}
	if err := r.update(id, deal.Accepted, append(dealtest.ToClosing(), dealtest.Won())...); err != nil {
		return nil, err
	}
	notPM := dealtest.Handover()
	notPM.Payload = bytes.Replace(notPM.Payload, []byte(dealtest.PM), []byte(dealtest.AE), 1)
	incomplete := dealtest.Step{Signal: deal.SigHandover, Payload: dealtest.JSON(map[string]any{"by": dealtest.PM, "signed_off": true,
		"checklist": map[string]any{"deliverables_reviewed": true, "commitments_acknowledged": []string{"c1"}}})}
	early := []dealtest.Step{notPM, incomplete, dealtest.Progress("10"), closedWon()}
	if err := r.update(id, deal.Refused, early...); err != nil {
		return nil, err
	}
	if err := r.update(id, deal.Accepted, dealtest.Handover(), dealtest.Progress("10")); err != nil {
		return nil, err
	}
	return dealRun(id), r.end(id, closedWon())
}

func playClientLink(r *run) ([]recorded, error) {
	id := "corpus-client-link"
	if err := r.open(terms(id)); err != nil {
		return nil, err
	}
	steps := []dealtest.Step{
		dealtest.Approve("discovery", dealtest.Presales, "internal"),
		dealtest.Approve("scoping", dealtest.Presales, "internal"),
		dealtest.ClientSigned("scoping", "client", "changes_requested", map[string]string{"link": "L1"}),
		dealtest.Approve("scoping", dealtest.Presales, "internal"),
		dealtest.ClientSigned("scoping", "client", "approve", map[string]string{"link": "L2"}),
	}
	if err := r.update(id, deal.Accepted, steps...); err != nil {
		return nil, err
	}
	return dealRun(id), r.end(id, closedLost())
}

func playMarginAlerts(r *run) ([]recorded, error) {
	id := "corpus-margin"
	in := terms(id)
	in.MarginCheckEvery = "1s"
	if err := r.open(in); err != nil {
		return nil, err
	}
	if err := r.update(id, deal.Accepted, dealtest.ToDelivery()...); err != nil {
		return nil, err
	}
	// Planned cost 70,000 over 100 days from today: one point of drift per
	// 1,000 EUR spent ahead of plan. At risk above 3, off track above 8.
	for _, step := range []struct {
		inv    dealtest.Step
		status string
	}{
		{dealtest.Invoice("M-1", "subcontractor", "5000", today()), deal.AtRisk},
		{dealtest.Invoice("M-2", "subcontractor", "5000", today()), deal.OffTrack},
		{dealtest.Step{Signal: deal.SigInvoice, Payload: dealtest.JSON(map[string]any{"invoice_id": "M-3", "category": "subcontractor",
			"amount": "-9000", "credit": true, "currency": "EUR", "date": today()})}, deal.OnTrack},
	} {
		if err := r.update(id, deal.Accepted, step.inv); err != nil {
			return nil, err
		}
		// Let the timer check the margin a few times at this status.
		if err := r.waitChecks(id, 3, step.status); err != nil {
			return nil, err
		}
	}
	return dealRun(id), r.end(id, closedWon())
}

// waitChecks waits for n more margin checks, and for the deal's alerted
// status to be status.
func (r *run) waitChecks(id string, n int, status string) error {
	st, err := workflows.Record(r.ctx, r.s.Client, id)
	if err != nil {
		return err
	}
	from := st.Deal.MarginChecks
	for st.Deal.MarginChecks < from+int64(n) {
		if err := r.pause(200 * time.Millisecond); err != nil {
			return fmt.Errorf("margin checks: %w", err)
		}
		if st, err = workflows.Record(r.ctx, r.s.Client, id); err != nil {
			return err
		}
	}
	if st.Deal.Alerted != status {
		return fmt.Errorf("the deal alerted %s, want %s", st.Deal.Alerted, status)
	}
	return nil
}

func playContinueAsNew(r *run) ([]recorded, error) {
	id := "corpus-can"
	in := terms(id)
	in.ContinueAfterEvents = 60
	if err := r.open(in); err != nil {
		return nil, err
	}
	if err := r.update(id, deal.Accepted, dealtest.ToDelivery()...); err != nil {
		return nil, err
	}
	// Load: updates from four senders and plain signals at once, across
	// several hand-overs to new runs.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				inv := dealtest.Invoice(fmt.Sprintf("L-%d-%d", g, i), "internal", "10", today())
				if err := r.update(id, deal.Accepted, inv); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			inv := dealtest.Invoice(fmt.Sprintf("P-%d", i), "travel", "5", today())
			if err := r.s.Client.SignalWorkflow(r.ctx, workflows.WorkflowID(id), "", inv.Signal, json.RawMessage(inv.Payload)); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	// Every invoice reaches the ledger, whichever run took it.
	for {
		st, err := workflows.Record(r.ctx, r.s.Client, id)
		if err == nil && st.Deal.Ledger.Invoices == 80 {
			break
		}
		if err := r.pause(100 * time.Millisecond); err != nil {
			return nil, fmt.Errorf("waiting for 80 invoices: %w", err)
		}
	}
	if err := r.end(id, closedWon()); err != nil {
		return nil, err
	}
	runs, err := r.chain(workflows.WorkflowID(id))
	if err != nil {
		return nil, err
	}
	if len(runs) < 3 {
		return nil, fmt.Errorf("the deal ran %d runs, want at least 3", len(runs))
	}
	return dealRun(id), nil
}

// playActivityRetry makes PostgreSQL refuse the first insert of a
// commitment (the SaveRows activity) and of a cost invoice (the ledger
// activity): a sequence is not rolled back with the failed transaction, so
// each trigger fails exactly once and the retry goes through.
func playActivityRetry(r *run) ([]recorded, error) {
	const failOnce = `
CREATE SEQUENCE IF NOT EXISTS recordhistory_failures;
CREATE OR REPLACE FUNCTION recordhistory_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('recordhistory_failures') <= 2 THEN
    RAISE EXCEPTION 'recordhistory: injected failure on %', TG_TABLE_NAME;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER recordhistory_fail_commitment BEFORE INSERT ON commitments FOR EACH ROW
  WHEN (NEW.deal_id = 'corpus-retry') EXECUTE FUNCTION recordhistory_fail_once();
CREATE TRIGGER recordhistory_fail_invoice BEFORE INSERT ON cost_invoices FOR EACH ROW
  WHEN (NEW.deal_id = 'corpus-retry') EXECUTE FUNCTION recordhistory_fail_once();`
	if _, err := r.s.Pool.Exec(r.ctx, failOnce); err != nil {
		return nil, fmt.Errorf("installing the failing triggers: %w", err)
	}
	id := "corpus-retry"
	if err := r.open(terms(id)); err != nil {
		return nil, err
	}
	if err := r.update(id, deal.Accepted, dealtest.ToDelivery()...); err != nil {
		return nil, err
	}
	if err := r.update(id, deal.Accepted, dealtest.Invoice("R-1", "license", "100", today())); err != nil {
		return nil, err
	}
	if err := r.end(id, closedWon()); err != nil {
		return nil, err
	}
	var failed int64
	if err := r.s.Pool.QueryRow(r.ctx, "SELECT last_value FROM recordhistory_failures").Scan(&failed); err != nil {
		return nil, err
	}
	if failed < 3 {
		return nil, fmt.Errorf("the triggers fired %d times; both injected failures did not happen", failed)
	}
	return dealRun(id), nil
}

// playIntakeJob posts a CSV over the job threshold through the worker's
// HTTP API, as finance does.
func playIntakeJob(r *run) ([]recorded, error) {
	ids := []string{"corpus-intake-a", "corpus-intake-b"}
	for _, id := range ids {
		if err := r.open(terms(id)); err != nil {
			return nil, err
		}
		if err := r.update(id, deal.Accepted, dealtest.ToDelivery()...); err != nil {
			return nil, err
		}
	}
	var csv strings.Builder
	csv.WriteString("deal_id,invoice_id,category,amount,currency,date\n")
	for i := range intake.SyncRows + 1 {
		fmt.Fprintf(&csv, "%s,J-%d,internal,1,EUR,%s\n", ids[i%2], i, today())
	}
	csv.WriteString(ids[0] + ",J-bad,internal,-1,EUR," + today() + "\n") // refused: negative, not a credit note
	req, err := http.NewRequestWithContext(r.ctx, http.MethodPost, "http://"+r.s.Addr+"/api/invoices.csv", strings.NewReader(csv.String()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+financeToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var job server.JobAccepted
	if resp.StatusCode != http.StatusAccepted || json.NewDecoder(resp.Body).Decode(&job) != nil {
		return nil, fmt.Errorf("the CSV was answered %s, not taken as a job", resp.Status)
	}
	wid := intake.WorkflowID(job.JobID)
	if err := r.s.Client.GetWorkflow(r.ctx, wid, "").Get(r.ctx, nil); err != nil {
		return nil, err
	}
	j, err := intake.GetJob(r.ctx, r.s.Store, job.JobID, 0, 0)
	if err != nil {
		return nil, err
	}
	if j.Accepted != intake.SyncRows+1 || j.Refused != 1 {
		return nil, fmt.Errorf("the job answered %d accepted, %d refused", j.Accepted, j.Refused)
	}
	for _, id := range ids {
		if err := r.end(id, closedWon()); err != nil {
			return nil, err
		}
	}
	// The job's workflow id is random (a time and random bytes); the file
	// name is the scenario's.
	d, err := r.s.Client.DescribeWorkflowExecution(r.ctx, wid, "")
	if err != nil {
		return nil, err
	}
	if d.WorkflowExecutionInfo.Status != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		return nil, fmt.Errorf("the job's workflow is %s", d.WorkflowExecutionInfo.Status)
	}
	return []recorded{{workflowID: wid, part: "job"}, {workflowID: workflows.WorkflowID(ids[0]), part: "deal-a"},
		{workflowID: workflows.WorkflowID(ids[1]), part: "deal-b"}}, nil
}
