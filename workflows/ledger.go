package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/db"
	"dealflow/deal"
)

// ledgerItem is an invoice or fee the rules accepted, waiting for
// PostgreSQL's answer (new, duplicate, or conflicting).
type ledgerItem struct {
	signal string
	entry  deal.LedgerEntry
	source string
	size   int
	// waited is true when an update waits for the answer.
	waited bool
	done   bool
	result deal.Result
}

// ledgerQueue holds the entries not yet answered. They go to PostgreSQL in
// batches, so a stream of invoices costs one activity per batch, and each
// invoice O(1) work in the workflow.
type ledgerQueue struct {
	items []*ledgerItem
	busy  bool
}

func (q *ledgerQueue) add(signal string, e deal.LedgerEntry, source string, waited bool) *ledgerItem {
	b, _ := json.Marshal(e)
	it := &ledgerItem{signal: signal, entry: e, source: source, size: len(b) + len(source), waited: waited}
	q.items = append(q.items, it)
	return it
}

func (q *ledgerQueue) idle() bool { return len(q.items) == 0 && !q.busy }

// waited is true while an update waits for an entry's answer.
func (q *ledgerQueue) waited() bool {
	for _, it := range q.items {
		if it.waited && !it.done {
			return true
		}
	}
	return false
}

// bytes is the size of the entries waiting.
func (q *ledgerQueue) bytes() int {
	n := 0
	for _, it := range q.items {
		n += it.size
	}
	return n
}

// CarriedEntry is a ledger entry from a plain signal that one run hands the
// next, unanswered.
type CarriedEntry struct {
	Signal string           `json:"signal"`
	Entry  deal.LedgerEntry `json:"entry"`
	Source string           `json:"source,omitempty"`
}

// carry is what is waiting, for the next run. Entries from updates are
// never among them: the run ends only once every update is answered.
func (q *ledgerQueue) carry() []CarriedEntry {
	out := make([]CarriedEntry, 0, len(q.items))
	for _, it := range q.items {
		out = append(out, CarriedEntry{Signal: it.signal, Entry: it.entry, Source: it.source})
	}
	return out
}

// resume queues what the previous run handed over.
func (q *ledgerQueue) resume(entries []CarriedEntry) {
	for _, e := range entries {
		q.add(e.Signal, e.Entry, e.Source, false)
	}
}

// A ledger batch holds at most this many entries and bytes.
const (
	maxLedgerBatch = 500
	maxLedgerBytes = 512 << 10
)

// next is the next batch, in arrival order. With waitedFirst (the run is
// handing over), the entries updates wait for go first: the hand-over
// waits for those updates, not for the plain signals, which can travel in
// the carry.
func (q *ledgerQueue) next(waitedFirst bool) []*ledgerItem {
	var batch []*ledgerItem
	size := 0
	take := func(waited bool) {
		for _, it := range q.items {
			if len(batch) == maxLedgerBatch || (len(batch) > 0 && size+it.size > maxLedgerBytes) {
				return
			}
			if it.waited == waited {
				batch = append(batch, it)
				size += it.size
			}
		}
	}
	if waitedFirst {
		take(true)
	}
	if len(batch) == 0 {
		for _, it := range q.items {
			if len(batch) == maxLedgerBatch || (len(batch) > 0 && size+it.size > maxLedgerBytes) {
				break
			}
			batch = append(batch, it)
			size += it.size
		}
	}
	return batch
}

// removeDone takes the answered entries out of the queue.
func (q *ledgerQueue) removeDone() {
	kept := q.items[:0]
	for _, it := range q.items {
		if !it.done {
			kept = append(kept, it)
		}
	}
	q.items = kept
}

// ledgerLoop takes the waiting entries to PostgreSQL a batch at a time and
// answers each. The batch's number (from the ledger's count) is the same
// on every retry, so a retry whose first attempt committed before the
// worker died finds its rows and counts them once.
func (w *dealWorkflow) ledgerLoop(ctx workflow.Context) {
	ctx = withRetries(ctx, time.Minute)
	for {
		// While the run hands over, the hand-over answers the updates'
		// entries itself (settleWaited), and what fits the carry waits for
		// the next run: a steady stream must not keep this run busy.
		ready := func() bool {
			return len(w.ledger.items) > 0 && !w.ledger.busy && (!w.handingOver || w.ledger.bytes() > maxCarriedEntries)
		}
		if workflow.Await(ctx, ready) != nil {
			return
		}
		w.ledger.busy = true
		err := w.takeBatch(ctx, w.ledger.next(w.draining), false)
		w.ledger.busy = false
		if err != nil {
			workflow.GetLogger(ctx).Error("taking invoices into the ledger failed; retrying in a minute", "error", err)
			if workflow.Sleep(ctx, retryPause) != nil {
				return
			}
		}
	}
}

// takeBatch sends one batch to PostgreSQL and answers its entries. It
// returns an error only for a failure worth trying again later; entries
// PostgreSQL refuses for good are answered as refused.
func (w *dealWorkflow) takeBatch(ctx workflow.Context, batch []*ledgerItem, local bool) error {
	req := activities.LedgerBatch{DealID: w.s.Terms.DealID, Batch: w.s.Ledger.Batches + 1}
	for _, it := range batch {
		req.Entries = append(req.Entries, db.LedgerEntry{LedgerEntry: it.entry, Source: it.source})
	}
	var ans activities.LedgerAnswer
	var err error
	if local {
		err = workflow.ExecuteLocalActivity(ctx, takeLedgerName, req).Get(ctx, &ans)
	} else {
		err = workflow.ExecuteActivity(ctx, a.TakeLedger, req).Get(ctx, &ans)
	}
	switch {
	case err == nil:
		w.Health.Ledger = ""
		w.absorb(w.s.TakeLedger(workflow.Now(ctx), ans.Totals))
		for i, it := range batch {
			w.answer(ctx, it, ans.Results[i])
		}
	case isPermanent(err):
		w.Health.Ledger = err.Error()
		for _, it := range batch {
			w.answer(ctx, it, deal.Result{Status: deal.Refused, Reason: "PostgreSQL refused it: " + err.Error()})
		}
	default:
		w.Health.Ledger = err.Error()
		return err
	}
	w.ledger.removeDone()
	return nil
}

// takeLedgerName is the TakeLedger activity by its registered name, as a
// local activity needs it.
const takeLedgerName = "TakeLedger"

// settleWaited answers, while the run hands over, the entries updates
// wait for, through a local activity: the answer comes back within the
// same workflow task, so the run can end in it with every accepted update
// answered. Updates the server holds meanwhile were never accepted here,
// and the server sends them again to the next run. (A regular activity
// would take a workflow task of its own, and each one brings new updates
// under a steady stream, so the run would never end.)
func (w *dealWorkflow) settleWaited(ctx workflow.Context) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second},
	})
	// One batch at a time: a batch the ledger loop has out is answered
	// first, since the next batch's number follows from its answer.
	if err := workflow.Await(ctx, func() bool { return !w.ledger.busy }); err != nil {
		return err
	}
	w.ledger.busy = true
	defer func() { w.ledger.busy = false }()
	for w.ledger.waited() {
		if err := w.takeBatch(lctx, w.ledger.next(true), true); err != nil {
			return err
		}
	}
	return nil
}

func (w *dealWorkflow) answer(ctx workflow.Context, it *ledgerItem, res deal.Result) {
	if res.Status == deal.Refused {
		b, _ := json.Marshal(it.entry)
		res = w.refuse(ctx, it.signal, res.Reason, b)
	}
	it.result, it.done = res, true
}
