package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/testsuite"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// TestRandomProtocol drives DealWorkflow with random sequences of signals
// and updates (valid steps in a plausible order, steps not allowed now,
// steps by the wrong people, incomplete handover checklists, broken
// payloads, invoices and fees with repeats and conflicts, unknown signal
// names), sent as updates and as plain signals, across continue-as-new,
// and checks after every step:
//
//  1. a deal in delivery (or closed won) has its handover signed off by
//     its PM on a complete checklist;
//  2. the ledger totals equal the sum of the invoices and fees answered
//     accepted, in the workflow and in PostgreSQL;
//  3. every refusal left a reason, and PostgreSQL holds one row for each
//     refusal the workflow counts.
//
// DEALFLOW_PROTOCOL_SEED=<n> replays one seed; DEALFLOW_PROTOCOL_STEPS=<n>
// sets the steps per seed.
func TestRandomProtocol(t *testing.T) {
	var seeds []uint64
	if s := os.Getenv("DEALFLOW_PROTOCOL_SEED"); s != "" {
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("DEALFLOW_PROTOCOL_SEED=%q: %v", s, err)
			}
			seeds = append(seeds, n)
		}
	} else {
		seeds = []uint64{1, 2, 3, 20260302}
		if testing.Short() {
			seeds = seeds[:2]
		}
		seeds = append(seeds, uint64(time.Now().UnixNano()))
	}
	steps := 300
	if testing.Short() {
		steps = 60
	}
	if s := os.Getenv("DEALFLOW_PROTOCOL_STEPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("DEALFLOW_PROTOCOL_STEPS=%q", s)
		}
		steps = n
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d, %d steps; replay with DEALFLOW_PROTOCOL_SEED=%d", seed, steps, seed)
			r := newRandomDeal(t, seed)
			r.play(steps)
		})
	}
}

// rpSend is one signal or update of a step.
type rpSend struct {
	signal  string
	payload []byte
	// raw is a payload that is not JSON: sent as bytes, as a plain signal.
	raw bool
	// plain sends a signal; otherwise an update, answered in res.
	plain bool
	res   *deal.Result
	// led is the ledger entry of an invoice or fee, nil for any other.
	led *rpEntry
	// unknown is a signal name the deal does not know.
	unknown bool
	// complete marks the generator's complete handover by the PM.
	complete bool
}

// rpEntry is an invoice or fee as the generator made it.
type rpEntry struct {
	key     string // "i:<invoice_id>" or "f:<fee_id>"
	invalid bool   // the rules refuse it whatever the ledger holds
	// bucket is the invoice category or the fee kind; amount is the
	// amount in the deal's currency (deal_amount for an invoice).
	bucket string
	amount decimal.Decimal
}

type rpStep struct {
	desc  string
	sends []*rpSend
	// atHandOver is a step sent as the run was told to continue as new:
	// its updates may be turned away, to be sent again.
	atHandOver bool
}

// rpRow is a ledger row the deal answered accepted.
type rpRow struct {
	bucket  string
	amount  decimal.Decimal
	payload string
}

// randomDeal is one deal driven by one seed, over as many runs as
// continue-as-new makes, and the test's own model of what it accepted.
type randomDeal struct {
	t    *testing.T
	seed uint64
	rng  *rand.Rand
	id   string
	p    *protoRun
	runs int
	step int

	prev    *Status // the state before the step in flight
	pending *rpStep

	// The model: the ledger rows answered accepted, by key.
	rows map[string]rpRow
	// unknownNames are the unknown signal names sent as plain signals.
	unknownNames []string
	// signedOff is the handover payload that opened delivery.
	signedOff []byte
	counter   int
	pgChecks  int
	failed    bool
	sent      map[string]int
	// base is the time the runs before this one took.
	base time.Duration
	// answers counts the updates' answers; stages the stages seen.
	answers map[string]int
	stages  []deal.Stage
}

func newRandomDeal(t *testing.T, seed uint64) *randomDeal {
	return &randomDeal{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), id: newDealID(),
		rows: map[string]rpRow{}, sent: map[string]int{}, answers: map[string]int{}}
}

func (r *randomDeal) failf(format string, args ...any) {
	r.t.Helper()
	if r.failed {
		return
	}
	r.failed = true
	desc := ""
	if r.pending != nil {
		desc = r.pending.desc
	}
	r.t.Errorf("seed %d, run %d, step %d (%s): %s", r.seed, r.runs, r.step, desc, fmt.Sprintf(format, args...))
}

// play sends about n steps, in runs of random length, each run ending in
// a continue-as-new the next run picks up.
func (r *randomDeal) play(n int) {
	var next *Input
	start := time.Now()
	for r.step < n && !r.failed {
		length := min(n-r.step, 10+r.rng.IntN(70))
		r.runs++
		var p *protoRun
		if next == nil {
			p = newProtoRunFor(r.t, r.id)
		} else {
			p = newProtoRunFor(r.t, r.id)
			p.env.SetStartTime(protoStart.Add(r.elapsed()))
			p.env.SetContinuedExecutionRunID(fmt.Sprintf("run-%d", r.runs-1))
		}
		offset := r.elapsed()
		r.p = p
		for i := 0; i <= length; i++ {
			last := i == length
			p.later(func() { r.tick(last) })
		}
		p.later(func() { p.env.SetContinueAsNewSuggested(true) })
		if next == nil {
			p.run()
		} else {
			p.env.ExecuteWorkflow(DealWorkflow, *next)
		}
		r.base = offset + p.at
		if r.failed {
			break
		}
		in := continuedInput(r.t, p.env)
		next = &in
	}
	r.t.Logf("%d steps in %d runs, %d PostgreSQL checks, %s; stages %v; answers %v; %d ledger rows, %d unknown plain signals; sent %v",
		r.step, r.runs, r.pgChecks, time.Since(start).Round(time.Millisecond), r.stages, r.answers, len(r.rows), len(r.unknownNames), r.sent)
}

// base is the time the runs before this one took.
func (r *randomDeal) elapsed() time.Duration { return r.base }

// tick checks the step sent a minute ago, then sends the next one (none
// after the last tick of a run).
func (r *randomDeal) tick(last bool) {
	if r.failed {
		return
	}
	st := r.p.status()
	r.afterStep(st)
	if r.failed {
		return
	}
	if last || r.rng.IntN(25) == 0 {
		r.checkPostgres(st)
	}
	r.prev, r.pending = &st, nil
	if last && r.rng.IntN(2) == 0 {
		return
	}
	r.step++
	s := r.generate(st.Deal)
	r.send(s)
	r.pending = &s
	if last {
		// The step is still on its way when the run hands over: the next
		// run checks it.
		s.atHandOver = true
		r.p.env.SetContinueAsNewSuggested(true)
	}
}

func (r *randomDeal) send(s rpStep) {
	for i, sd := range s.sends {
		r.sent[sd.signal]++
		if sd.plain {
			if sd.raw {
				r.p.env.SignalWorkflow(sd.signal, sd.payload)
			} else {
				r.p.env.SignalWorkflow(sd.signal, json.RawMessage(sd.payload))
			}
			continue
		}
		sd.res = &deal.Result{Status: "never answered"}
		res := sd.res
		r.p.env.UpdateWorkflow(UpdateSignal, fmt.Sprintf("r%d-s%d-%d", r.runs, r.step, i), &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { *res = deal.Result{Status: "rejected", Reason: err.Error()} },
			OnComplete: func(v any, err error) { *res = v.(deal.Result) },
		}, SignalRequest{Signal: sd.signal, Payload: json.RawMessage(sd.payload)})
	}
}

// afterStep checks the answers to the step in flight and the invariants
// on the state the workflow answers now.
func (r *randomDeal) afterStep(st Status) {
	d := st.Deal
	if n := len(r.stages); n == 0 || r.stages[n-1] != d.Stage {
		r.stages = append(r.stages, d.Stage)
	}
	if s := r.pending; s != nil && r.prev != nil {
		prev := r.prev.Deal
		won := prev.Close != nil && prev.Close.Outcome == "won"
		refusals, exact := int64(0), true
		for _, sd := range s.sends {
			status, delivered := "", true
			if !sd.plain {
				status = sd.res.Status
				r.answers[status]++
				switch status {
				case deal.Accepted, deal.Duplicate:
				case deal.Refused:
					// Invariant 3: every refusal says why.
					if strings.TrimSpace(sd.res.Reason) == "" {
						r.failf("update %s refused without a reason", sd.signal)
					}
					refusals++
				case "rejected":
					if s.atHandOver && strings.Contains(sd.res.Reason, "moving to a new run") {
						delivered = false
					} else if !sd.unknown {
						r.failf("update %s rejected: %s", sd.signal, sd.res.Reason)
					} else if !strings.Contains(sd.res.Reason, sd.signal) {
						r.failf("unknown update %q rejected with %q", sd.signal, sd.res.Reason)
					}
				default:
					r.failf("update %s answered %q", sd.signal, status)
				}
			} else if sd.unknown {
				refusals++
			}
			if sd.led != nil && delivered {
				status = r.takeEntry(sd, status, won)
				if sd.plain && status == deal.Refused {
					refusals++
				}
			} else if sd.plain && !sd.unknown {
				exact = false
			}
		}
		// Invariant 3: the workflow counts one refusal for each.
		got := d.Refusals - prev.Refusals
		if (exact && got != refusals) || got < refusals {
			r.failf("the refusal count moved by %d, want %d (exact %v)", got, refusals, exact)
		}
		r.handoverStep(prev, d)
	}
	r.checkGate(d)
	r.checkLedger(d.Ledger, "the workflow's ledger")
}

// takeEntry answers an invoice or fee from the model: what the ledger
// holds under its key decides it. An update's answer must agree; a plain
// signal's answer is the model's. It returns the answer.
func (r *randomDeal) takeEntry(sd *rpSend, got string, won bool) string {
	e := sd.led
	want := deal.Accepted
	row, taken := r.rows[e.key]
	switch {
	case e.invalid:
		want = deal.Refused
	case taken && row.payload == string(sd.payload):
		want = deal.Duplicate
	case taken:
		want = deal.Refused
	case strings.HasPrefix(e.key, "f:") && !won:
		want = deal.Refused
	}
	if sd.plain {
		got = want
	} else if got != want {
		r.failf("%s %s answered %s (%s), want %s", sd.signal, e.key, got, sd.res.Reason, want)
	}
	if got == deal.Accepted {
		// Invariant 2: an id is counted once.
		if taken {
			r.failf("%s %s accepted a second time", sd.signal, e.key)
		}
		r.rows[e.key] = rpRow{bucket: e.bucket, amount: e.amount, payload: string(sd.payload)}
	}
	return got
}

// handoverStep notes the handover payload that signed the handover off,
// and checks it was the PM's complete checklist.
func (r *randomDeal) handoverStep(prev, d deal.State) {
	was := prev.Handover != nil && prev.Handover.Status == "signed_off"
	is := d.Handover != nil && d.Handover.Status == "signed_off"
	var signer *rpSend
	for _, sd := range r.pending.sends {
		if sd.signal != deal.SigHandover {
			continue
		}
		if !sd.plain && sd.res.Status == deal.Accepted && is && !was {
			signer = sd
		}
		if sd.plain && is && !was {
			signer = sd
		}
		// A complete checklist by the PM opens delivery.
		if sd.complete && !sd.plain && prev.Stage == deal.Handover && sd.res.Status != deal.Accepted &&
			!(r.pending.atHandOver && sd.res.Status == "rejected") {
			r.failf("the PM's complete handover checklist was answered %+v", *sd.res)
		}
	}
	switch {
	case is && !was && signer == nil:
		r.failf("the handover was signed off by a step that sent no handover")
	case is && !was:
		r.signedOff = signer.payload
		if gaps := rpChecklistGaps(signer.payload, d.Terms.People.PM, commitmentIDs(d)); len(gaps) > 0 {
			r.failf("the handover was signed off on %s: %s", signer.payload, strings.Join(gaps, "; "))
		}
	case was && !is:
		r.failf("the signed-off handover went back to %+v", d.Handover)
	}
}

// checkGate is invariant 1 on the workflow's state.
func (r *randomDeal) checkGate(d deal.State) {
	if !d.Stage.IsDelivery() && d.Stage != deal.ClosedWon && d.BaseStage == "" {
		return
	}
	ho := d.Handover
	switch {
	case ho == nil || ho.Status != "signed_off":
		r.failf("the deal is at %s (base %q) with the handover %+v", d.Stage, d.BaseStage, ho)
	case ho.SignedOffBy != d.Terms.People.PM || ho.SignedOffAt == nil:
		r.failf("the deal is at %s with the handover signed off by %q, not the PM %s", d.Stage, ho.SignedOffBy, d.Terms.People.PM)
	case r.signedOff == nil:
		r.failf("the deal is at %s but no step signed the handover off", d.Stage)
	}
}

func commitmentIDs(d deal.State) []string {
	var ids []string
	for _, c := range d.Commitments {
		ids = append(ids, c.ID)
	}
	return ids
}

// rpChecklistGaps is the test's own reading of a handover payload: signed
// off by the PM, deliverables reviewed, resources confirmed, scope
// ambiguities stated (a list, even empty) and every commitment listed.
func rpChecklistGaps(payload []byte, pm string, commitments []string) []string {
	var h struct {
		By        string                     `json:"by"`
		SignedOff bool                       `json:"signed_off"`
		Checklist map[string]json.RawMessage `json:"checklist"`
	}
	if err := json.Unmarshal(payload, &h); err != nil {
		return []string{"not a handover: " + err.Error()}
	}
	var gaps []string
	if h.By != pm {
		gaps = append(gaps, "by "+h.By)
	}
	if !h.SignedOff {
		gaps = append(gaps, "not signed_off")
	}
	c := h.Checklist
	if string(c["deliverables_reviewed"]) != "true" {
		gaps = append(gaps, "deliverables not reviewed")
	}
	if string(c["resources_confirmed"]) != "true" {
		gaps = append(gaps, "resources not confirmed")
	}
	var amb []string
	if raw, ok := c["scope_ambiguities"]; !ok || json.Unmarshal(raw, &amb) != nil || amb == nil {
		gaps = append(gaps, "scope_ambiguities not stated")
	}
	var acked []string
	_ = json.Unmarshal(c["commitments_acknowledged"], &acked)
	for _, id := range commitments {
		if !slices.Contains(acked, id) {
			gaps = append(gaps, "commitment "+id+" not acknowledged")
		}
	}
	return gaps
}

// modelLedger is the ledger the rows answered accepted add up to.
func (r *randomDeal) modelLedger() deal.Ledger {
	l := deal.NewLedger()
	for key, row := range r.rows {
		if strings.HasPrefix(key, "i:") {
			l.Invoices++
			for i := range l.Costs {
				if l.Costs[i].Category == row.bucket {
					l.Costs[i].Amount = l.Costs[i].Amount.Add(row.amount)
				}
			}
			continue
		}
		l.Fees++
		if row.bucket == "invoiced" {
			l.FeesInvoiced = l.FeesInvoiced.Add(row.amount)
		} else {
			l.FeesCollected = l.FeesCollected.Add(row.amount)
		}
	}
	return l
}

// checkLedger is invariant 2: totals equal the model's.
func (r *randomDeal) checkLedger(got deal.Ledger, where string) {
	want := r.modelLedger()
	diff := []string{}
	if got.Invoices != want.Invoices {
		diff = append(diff, fmt.Sprintf("invoices %d, want %d", got.Invoices, want.Invoices))
	}
	if got.Fees != want.Fees {
		diff = append(diff, fmt.Sprintf("fees %d, want %d", got.Fees, want.Fees))
	}
	if !got.FeesInvoiced.Equal(want.FeesInvoiced) || !got.FeesCollected.Equal(want.FeesCollected) {
		diff = append(diff, fmt.Sprintf("fees invoiced/collected %s/%s, want %s/%s", got.FeesInvoiced, got.FeesCollected, want.FeesInvoiced, want.FeesCollected))
	}
	for _, c := range want.Costs {
		amount := decimal.Zero
		for _, g := range got.Costs {
			if g.Category == c.Category {
				amount = g.Amount
			}
		}
		if !amount.Equal(c.Amount) {
			diff = append(diff, fmt.Sprintf("%s costs %s, want %s", c.Category, amount, c.Amount))
		}
	}
	if len(diff) > 0 {
		r.failf("%s: %s", where, strings.Join(diff, "; "))
	}
}

// checkPostgres checks the invariants on what PostgreSQL holds, once it
// has caught up with the workflow.
func (r *randomDeal) checkPostgres(st Status) {
	if st.PendingWrites > 0 || st.PendingLedger > 0 {
		r.t.Logf("step %d: %d writes and %d ledger entries on their way; PostgreSQL not checked", r.step, st.PendingWrites, st.PendingLedger)
		return
	}
	r.pgChecks++
	ctx := context.Background()
	d := st.Deal
	rec := r.p.record()
	if rec.Stage != d.Stage || rec.Version != d.Version {
		r.failf("PostgreSQL holds stage %s version %d, the workflow %s version %d", rec.Stage, rec.Version, d.Stage, d.Version)
		return
	}

	// Invariant 1 on the record.
	if d.Stage.IsDelivery() || d.Stage == deal.ClosedWon {
		ho := rec.Handover
		var ids []string
		for _, c := range rec.Commitments {
			ids = append(ids, c.ID)
		}
		switch {
		case ho == nil || ho.Status != "signed_off" || ho.SignedOffBy != d.Terms.People.PM:
			r.failf("PostgreSQL: the deal is at %s with the handover %+v", d.Stage, ho)
		default:
			if gaps := rpChecklistGaps(dealtest.JSON(map[string]any{"by": ho.SignedOffBy, "signed_off": true, "checklist": ho.Checklist}), d.Terms.People.PM, ids); len(gaps) > 0 {
				r.failf("PostgreSQL: the deal is at %s on the handover checklist %+v: %s", d.Stage, ho.Checklist, strings.Join(gaps, "; "))
			}
		}
		wantIDs := commitmentIDs(d)
		slices.Sort(ids)
		slices.Sort(wantIDs)
		if !slices.Equal(ids, wantIDs) {
			r.failf("PostgreSQL holds the commitments %v, the workflow %v", ids, wantIDs)
		}
	}

	// Invariant 2: the rows, their sums and the deal's totals.
	got := map[string]rpRow{}
	rows, err := store.Pool.Query(ctx, `SELECT 'i:' || invoice_id, category, deal_amount FROM cost_invoices WHERE deal_id = $1
		UNION ALL SELECT 'f:' || fee_id, kind, amount FROM client_fees WHERE deal_id = $1`, r.id)
	if err != nil {
		r.t.Fatal(err)
	}
	for rows.Next() {
		var key string
		var row rpRow
		if err := rows.Scan(&key, &row.bucket, &row.amount); err != nil {
			r.t.Fatal(err)
		}
		got[key] = row
	}
	if rows.Err() != nil {
		r.t.Fatal(rows.Err())
	}
	for key, want := range r.rows {
		if g, ok := got[key]; !ok || g.bucket != want.bucket || !g.amount.Equal(want.amount) {
			r.failf("PostgreSQL holds %s as %+v (%v), the deal accepted %s %s", key, g, ok, want.bucket, want.amount)
		}
	}
	for key := range got {
		if _, ok := r.rows[key]; !ok {
			r.failf("PostgreSQL holds %s, which no answer accepted", key)
		}
	}
	sums := deal.NewLedger()
	for i := range sums.Costs {
		if err := store.Pool.QueryRow(ctx, `SELECT COALESCE(sum(deal_amount), 0) FROM cost_invoices WHERE deal_id = $1 AND category = $2`,
			r.id, sums.Costs[i].Category).Scan(&sums.Costs[i].Amount); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := store.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM cost_invoices WHERE deal_id = $1),
			(SELECT count(*) FROM client_fees WHERE deal_id = $1),
			(SELECT COALESCE(sum(amount), 0) FROM client_fees WHERE deal_id = $1 AND kind = 'invoiced'),
			(SELECT COALESCE(sum(amount), 0) FROM client_fees WHERE deal_id = $1 AND kind = 'collected')`, r.id).
		Scan(&sums.Invoices, &sums.Fees, &sums.FeesInvoiced, &sums.FeesCollected); err != nil {
		r.t.Fatal(err)
	}
	r.checkLedger(sums, "the sums over PostgreSQL's rows")
	totals := deal.NewLedger()
	var refusalCount int64
	if err := store.Pool.QueryRow(ctx, `SELECT invoice_count, fee_count, fees_invoiced, fees_collected,
			cost_subcontractor, cost_license, cost_travel, cost_internal, refusal_count FROM deals WHERE deal_id = $1`, r.id).
		Scan(&totals.Invoices, &totals.Fees, &totals.FeesInvoiced, &totals.FeesCollected,
			&totals.Costs[0].Amount, &totals.Costs[1].Amount, &totals.Costs[2].Amount, &totals.Costs[3].Amount, &refusalCount); err != nil {
		r.t.Fatal(err)
	}
	r.checkLedger(totals, "the deal's totals in PostgreSQL")

	// Invariant 3: one row per refusal the workflow counts, each with a
	// reason; every unknown signal name among them.
	var n, blank, maxSeq int64
	if err := store.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE btrim(reason) = ''), COALESCE(max(seq), 0)
			FROM refusals WHERE deal_id = $1`, r.id).Scan(&n, &blank, &maxSeq); err != nil {
		r.t.Fatal(err)
	}
	if n != d.Refusals || maxSeq != d.Refusals || refusalCount != d.Refusals || rec.RefusalsTotal != d.Refusals || blank > 0 {
		r.failf("PostgreSQL holds %d refusals (last seq %d, count column %d, %d without a reason); the workflow counts %d",
			n, maxSeq, refusalCount, blank, d.Refusals)
	}
	for _, name := range r.unknownNames {
		var reason string
		// A long name is kept cut to an id's length, and so in the reason.
		short := name[:min(len(name), 100)]
		err := store.Pool.QueryRow(ctx, `SELECT reason FROM refusals WHERE deal_id = $1 AND left(signal, 100) = $2 ORDER BY seq LIMIT 1`, r.id, short).Scan(&reason)
		if err != nil || !strings.Contains(reason, "unknown signal") || !strings.Contains(reason, strconv.Quote(short)[:len(short)]) {
			r.failf("the unknown signal %q left no refusal naming it (%q, %v)", name, reason, err)
		}
	}
}

// ---- the generator ----

func (r *randomDeal) pick(n int) int { return r.rng.IntN(n) }

func (r *randomDeal) chance(p float64) bool { return r.rng.Float64() < p }

func (r *randomDeal) nextID(prefix string) string {
	r.counter++
	return fmt.Sprintf("%s%d", prefix, r.counter)
}

func rpOne(desc, signal string, payload []byte) rpStep {
	return rpStep{desc: desc, sends: []*rpSend{{signal: signal, payload: payload}}}
}

func rpJSONStep(desc, signal string, v any) rpStep { return rpOne(desc, signal, dealtest.JSON(v)) }

// generate draws the next step for a deal in state d, and how it is sent.
func (r *randomDeal) generate(d deal.State) rpStep {
	var s rpStep
	switch x := r.rng.Float64(); {
	case x < 0.30:
		s = r.happy(d)
	case x < 0.40:
		s = r.notNow(d)
	case x < 0.48:
		s = r.wrongPerson(d)
	case x < 0.56:
		s = r.handover(d, false)
	case x < 0.70:
		s = r.badPayload()
	case x < 0.93:
		s = r.ledger(d)
	default:
		s = r.unknownSignal()
	}
	plain, burstPlain := r.chance(0.35), r.chance(0.7)
	for _, sd := range s.sends {
		switch {
		case sd.raw:
			sd.plain = true
		case sd.unknown:
			sd.plain = r.chance(0.75)
		case len(s.sends) > 1:
			sd.plain = burstPlain
		default:
			sd.plain = plain
		}
		if sd.unknown && sd.plain {
			r.unknownNames = append(r.unknownNames, sd.signal)
		}
	}
	return s
}

var rpApprovers = map[string]string{"discovery": dealtest.Presales, "scoping": dealtest.Presales, "proposal": dealtest.AE, "pricing": dealtest.Pricing}

// happy is the next step of the protocol for the deal where it stands.
func (r *randomDeal) happy(d deal.State) rpStep {
	if d.Stage.IsPresale() && d.Stage != deal.Closing && r.chance(0.3) {
		if len(d.Commitments) > 0 && r.chance(0.2) {
			// A re-sent commitment: a repeat, or refused after the close.
			return r.commitment(d.Commitments[r.pick(len(d.Commitments))].ID, "re-sent commitment")
		}
		return r.commitment(r.nextID("k"), "commitment")
	}
	switch d.Stage {
	case deal.Discovery, deal.Proposal, deal.Pricing:
		tk := string(d.Stage)
		if r.chance(0.1) {
			return rpJSONStep("changes requested on "+tk, deal.SigSignoff, map[string]any{"ticket": tk, "by": rpApprovers[tk], "side": "internal",
				"decision": "changes_requested", "note": "more detail please"})
		}
		return rpOne("approve "+tk, deal.SigSignoff, dealtest.Approve(tk, rpApprovers[tk], "internal").Payload)
	case deal.Scoping:
		for _, tk := range d.Tickets {
			if tk.ID == "scoping" && tk.InternalApproved {
				if r.chance(0.5) {
					return rpOne("client signs scoping through a link", deal.SigSignoff, dealtest.ClientSigned("scoping", "client", "approve", nil).Payload)
				}
				return rpOne("client approves scoping", deal.SigSignoff, dealtest.Approve("scoping", dealtest.Presales, "client").Payload)
			}
		}
		return rpOne("approve scoping", deal.SigSignoff, dealtest.Approve("scoping", dealtest.Presales, "internal").Payload)
	case deal.Closing:
		if r.chance(0.03) {
			return rpJSONStep("close lost", deal.SigClose, map[string]string{"outcome": "lost", "by": dealtest.AE, "reason": "budget"})
		}
		return rpOne("close won", deal.SigClose, dealtest.Won().Payload)
	case deal.Handover:
		return r.handover(d, true)
	case deal.InProgress, deal.Mitigation, deal.Maintenance:
		switch x := r.pick(10); {
		case x < 3:
			return rpOne("progress", deal.SigProgress, dealtest.Progress(strconv.Itoa(1+r.pick(100))).Payload)
		case x < 5:
			sev := []string{"critical", "major", "minor"}[r.pick(3)]
			id := fmt.Sprintf("inc%d", r.pick(3))
			status := []string{"open", "resolved"}[r.pick(2)]
			return rpJSONStep("incident "+id+" "+sev+" "+status, deal.SigIncident, map[string]string{"incident_id": id, "severity": sev, "status": status, "title": "outage " + id})
		case x < 7:
			return rpJSONStep("change order", deal.SigChangeOrder, map[string]string{"id": r.nextID("co"), "amount": r.money(500000),
				"planned_cost": r.money(300000), "status": []string{"pending", "approved"}[r.pick(2)], "by": dealtest.PM})
		case x < 8:
			return rpJSONStep("to maintenance", deal.SigStage, map[string]string{"to": "maintenance", "by": dealtest.PM})
		case x < 9 && r.chance(0.3):
			return rpJSONStep("closed won", deal.SigStage, map[string]string{"to": "closed_won", "by": dealtest.GM})
		}
		return r.ledger(d)
	}
	return r.ledger(d)
}

func (r *randomDeal) commitment(id, desc string) rpStep {
	kinds := deal.CommitmentKinds
	kind := kinds[len(id)%len(kinds)]
	return rpJSONStep(desc+" "+id, deal.SigCommitment, map[string]string{"id": id, "kind": kind, "text": "promise " + id, "by": dealtest.AE})
}

// handover is a handover checklist: complete, or missing something.
func (r *randomDeal) handover(d deal.State, preferComplete bool) rpStep {
	acked := commitmentIDs(d)
	if acked == nil {
		acked = []string{}
	}
	cl := map[string]any{"deliverables_reviewed": true, "commitments_acknowledged": slices.Clone(acked),
		"scope_ambiguities": []string{}, "resources_confirmed": true}
	if r.chance(0.5) {
		cl["scope_ambiguities"] = []string{"data retention period"}
	}
	if r.chance(0.2) {
		cl["commitments_acknowledged"] = append(slices.Clone(acked), "extra-1")
	}
	body := map[string]any{"by": dealtest.PM, "signed_off": true, "checklist": cl}
	desc := "complete handover"
	complete := true
	if !preferComplete || r.chance(0.3) {
		complete = false
		switch r.pick(7) {
		case 0:
			if len(acked) > 0 {
				cl["commitments_acknowledged"] = slices.Delete(slices.Clone(acked), 0, 1)
				desc = "handover missing a commitment"
			} else {
				delete(cl, "commitments_acknowledged")
				cl["deliverables_reviewed"] = false
				desc = "handover with deliverables not reviewed"
			}
		case 1:
			delete(cl, "scope_ambiguities")
			desc = "handover without scope_ambiguities"
		case 2:
			cl["scope_ambiguities"] = nil
			desc = "handover with scope_ambiguities null"
		case 3:
			if r.chance(0.5) {
				delete(cl, "resources_confirmed")
			} else {
				cl["resources_confirmed"] = false
			}
			desc = "handover without resources confirmed"
		case 4:
			cl["deliverables_reviewed"] = false
			desc = "handover with deliverables not reviewed"
		case 5:
			body["signed_off"] = false
			desc = "draft handover"
		case 6:
			cl["commitments_acknowledged"] = []string{"c1", "c2"}
			desc = "handover of another deal's commitments"
			complete = len(acked) == 0
		}
	}
	s := rpJSONStep(desc, deal.SigHandover, body)
	s.sends[0].complete = complete
	return s
}

// notNow are valid steps the protocol may not allow where the deal is.
func (r *randomDeal) notNow(d deal.State) rpStep {
	switch r.pick(11) {
	case 0:
		return rpJSONStep("stage to maintenance", deal.SigStage, map[string]string{"to": "maintenance", "by": dealtest.PM})
	case 1:
		if d.BaseStage == "" {
			return rpJSONStep("stage to closed_won", deal.SigStage, map[string]string{"to": "closed_won", "by": dealtest.GM})
		}
		return rpJSONStep("stage to maintenance by the GM", deal.SigStage, map[string]string{"to": "maintenance", "by": dealtest.GM})
	case 2:
		return rpOne("progress", deal.SigProgress, dealtest.Progress("50").Payload)
	case 3:
		return rpOne("close won", deal.SigClose, dealtest.Won().Payload)
	case 4:
		return rpJSONStep("incident", deal.SigIncident, map[string]string{"incident_id": "inc9", "severity": "critical", "status": "open", "title": "down"})
	case 5:
		return r.commitment(r.nextID("k"), "commitment")
	case 6:
		tk := deal.PresaleTickets[r.pick(4)]
		return rpOne("approve "+tk+" out of turn", deal.SigSignoff, dealtest.Approve(tk, rpApprovers[tk], "internal").Payload)
	case 7:
		return rpOne("client approves scoping out of turn", deal.SigSignoff, dealtest.Approve("scoping", dealtest.Presales, "client").Payload)
	case 8:
		if d.Close != nil {
			return rpJSONStep("close lost after the close", deal.SigClose, map[string]string{"outcome": "lost", "by": dealtest.AE})
		}
		return rpOne("close won", deal.SigClose, dealtest.Won().Payload)
	case 9:
		return r.fee(r.nextID("F-"), "invoiced")
	}
	return r.handover(d, true)
}

// wrongPerson are steps by someone the rules do not let do them.
func (r *randomDeal) wrongPerson(d deal.State) rpStep {
	others := []string{dealtest.AE, dealtest.PM, dealtest.GM, dealtest.Presales, dealtest.Pricing, "U_SOMEONE"}
	switch r.pick(7) {
	case 0:
		tk := string(d.Stage)
		if _, ok := rpApprovers[tk]; !ok {
			tk = "discovery"
		}
		by := others[r.pick(len(others))]
		for by == rpApprovers[tk] {
			by = others[r.pick(len(others))]
		}
		return rpOne("approve "+tk+" by "+by, deal.SigSignoff, dealtest.Approve(tk, by, "internal").Payload)
	case 1:
		return rpJSONStep("close won by the PM", deal.SigClose, map[string]string{"outcome": "won", "by": dealtest.PM})
	case 2:
		by := []string{dealtest.AE, dealtest.GM, "U_SOMEONE"}[r.pick(3)]
		s := r.handover(d, true)
		var body map[string]any
		_ = json.Unmarshal(s.sends[0].payload, &body)
		body["by"] = by
		s = rpJSONStep("handover by "+by, deal.SigHandover, body)
		return s
	case 3:
		return rpJSONStep("stage by the AE", deal.SigStage, map[string]string{"to": "maintenance", "by": dealtest.AE})
	case 4:
		return rpJSONStep("progress by the GM", deal.SigProgress, map[string]string{"pct_complete": "40", "by": dealtest.GM})
	case 5:
		return rpJSONStep("change order by presales", deal.SigChangeOrder, map[string]string{"id": r.nextID("co"), "amount": "100.00",
			"planned_cost": "50.00", "status": "pending", "by": dealtest.Presales})
	}
	return rpJSONStep("client sign-off by the AE", deal.SigSignoff, dealtest.JSON(map[string]any{"ticket": "scoping", "by": dealtest.AE,
		"side": "client", "decision": "approve", "deliverable": map[string]string{"kind": "scoping_decision_log", "body": "x"}}))
}

// badPayload is a payload the rules refuse whatever the deal's state.
func (r *randomDeal) badPayload() rpStep {
	raw := func(desc, signal, payload string) rpStep {
		s := rpOne(desc, signal, []byte(payload))
		s.sends[0].raw = true
		return s
	}
	huge := strings.Repeat("x", 4001+r.pick(3000))
	switch r.pick(20) {
	case 0:
		return rpOne("commitment with an unknown field", deal.SigCommitment, []byte(`{"id":"c1","kind":"discount","text":"x","value":"12.x","by":"U_AE","amount":"12"}`))
	case 1:
		return rpOne("repeated key", deal.SigCommitment, []byte(`{"id":"k-a","id":"k-b","kind":"date","text":"x","by":"U_AE"}`))
	case 2:
		return rpOne("progress as a JSON number", deal.SigProgress, []byte(`{"pct_complete":50,"by":"U_PM"}`))
	case 3:
		return rpOne("change order with negative planned_cost", deal.SigChangeOrder, dealtest.JSON(map[string]string{"id": r.nextID("co"),
			"amount": "0.00", "planned_cost": "-90000.00", "status": "approved", "by": dealtest.PM}))
	case 4:
		return rpOne("commitment id with a space", deal.SigCommitment, []byte(`{"id":"c 1","kind":"date","text":"x","by":"U_AE"}`))
	case 5:
		return rpOne("commitment text with NUL", deal.SigCommitment, []byte(`{"id":"k-nul","kind":"date","text":"a\u0000b","by":"U_AE"}`))
	case 6:
		return raw("raw control characters", deal.SigCommitment, "{\"id\":\"k-ctl\",\"kind\":\"date\",\"text\":\"a\x01\x07b\",\"by\":\"U_AE\"}")
	case 7:
		return rpJSONStep("huge commitment text", deal.SigCommitment, map[string]string{"id": "k-huge", "kind": "date", "text": huge, "by": dealtest.AE})
	case 8:
		if r.chance(0.1) {
			return rpJSONStep("payload over 512 KiB", deal.SigIncident, map[string]string{"incident_id": "i-big", "severity": "minor", "status": "open",
				"title": strings.Repeat("y", 600<<10)})
		}
		return rpJSONStep("huge incident title", deal.SigIncident, map[string]string{"incident_id": "i-big", "severity": "minor", "status": "open", "title": huge})
	case 9:
		return raw("not JSON", deal.SigSignoff, "not json")
	case 10:
		return raw("truncated JSON", deal.SigHandover, `{"by":"U_PM","checklist":`)
	case 11:
		return raw("invalid UTF-8", deal.SigCommitment, "{\"id\":\"k-utf\",\"kind\":\"date\",\"text\":\"\xff\xfe\",\"by\":\"U_AE\"}")
	case 12:
		return rpOne("a JSON string", deal.SigSignoff, []byte(`"approve"`))
	case 13:
		return rpOne("a JSON number", deal.SigClose, []byte(`42`))
	case 14:
		return rpOne("null", deal.SigStage, []byte(`null`))
	case 15:
		return rpOne("a list", deal.SigHandover, []byte(`[{"by":"U_PM"}]`))
	case 16:
		return rpJSONStep("stage to in_progress by hand", deal.SigStage, map[string]string{"to": "in_progress", "by": dealtest.PM})
	case 17:
		return rpJSONStep("checklist as a string", deal.SigHandover, map[string]any{"by": dealtest.PM, "signed_off": true, "checklist": "all done"})
	case 18:
		return rpOne("signoff of an unknown ticket", deal.SigSignoff, dealtest.Approve("kickoff", dealtest.Presales, "internal").Payload)
	}
	return raw("empty payload", deal.SigCommitment, "")
}

func (r *randomDeal) money(maxCents int) string {
	return decimal.New(int64(1+r.pick(maxCents)), -2).StringFixed(2)
}

var rpCategories = deal.InvoiceCategories

// invoice is a new, valid invoice: in EUR, a credit note, or in USD.
func (r *randomDeal) invoice(id string) rpStep {
	cat := rpCategories[r.pick(len(rpCategories))]
	cents := int64(1 + r.pick(2000000))
	amount := decimal.New(cents, -2)
	body := map[string]any{"invoice_id": id, "category": cat, "currency": "EUR", "date": fmt.Sprintf("2026-03-%02d", 1+r.pick(28)), "supplier": "Initech"}
	dealAmt := amount
	desc := "invoice " + id
	switch x := r.pick(10); {
	case x < 2:
		body["credit"] = true
		dealAmt = amount.Neg()
		if x == 0 {
			body["amount"] = amount.Neg().StringFixed(2)
		} else {
			body["amount"] = amount.StringFixed(2)
		}
		desc = "credit note " + id
	case x < 4:
		fx := decimal.New(int64(5000+r.pick(10000)), -4)
		body["currency"] = "USD"
		body["fx_rate"] = fx.String()
		body["amount"] = amount.StringFixed(2)
		dealAmt = amount.Mul(fx).Round(2)
		desc = "USD invoice " + id
	default:
		body["amount"] = amount.StringFixed(2)
	}
	if r.chance(0.2) {
		body["memo"] = "phase " + strconv.Itoa(r.pick(5))
	}
	s := rpJSONStep(desc, deal.SigInvoice, body)
	s.sends[0].led = &rpEntry{key: "i:" + id, bucket: cat, amount: dealAmt}
	return s
}

func (r *randomDeal) fee(id, kind string) rpStep {
	amount := decimal.New(int64(1+r.pick(5000000)), -2)
	s := rpJSONStep("fee "+kind+" "+id, deal.SigFee, map[string]string{"fee_id": id, "kind": kind, "amount": amount.StringFixed(2),
		"currency": "EUR", "date": fmt.Sprintf("2026-03-%02d", 1+r.pick(28))})
	s.sends[0].led = &rpEntry{key: "f:" + id, bucket: kind, amount: amount}
	return s
}

// ledger is an invoice or fee: new, re-sent, conflicting or broken.
func (r *randomDeal) ledger(d deal.State) rpStep {
	taken := make([]string, 0, len(r.rows))
	for k := range r.rows {
		taken = append(taken, k)
	}
	slices.Sort(taken)
	switch x := r.pick(20); {
	case x < 7:
		id := r.nextID("INV/2026/")
		return r.invoice(id)
	case x < 10:
		return r.fee(r.nextID("FEE-"), []string{"invoiced", "collected"}[r.pick(2)])
	case x < 13 && len(taken) > 0:
		key := taken[r.pick(len(taken))]
		row := r.rows[key]
		signal := map[byte]string{'i': deal.SigInvoice, 'f': deal.SigFee}[key[0]]
		s := rpOne("re-sent "+key, signal, []byte(row.payload))
		s.sends[0].led = &rpEntry{key: key, bucket: row.bucket, amount: row.amount}
		return s
	case x < 15 && len(taken) > 0:
		key := taken[r.pick(len(taken))]
		row := r.rows[key]
		var body map[string]any
		_ = json.Unmarshal([]byte(row.payload), &body)
		old, _ := decimal.NewFromString(body["amount"].(string))
		body["amount"] = old.Add(decimal.New(int64(1+r.pick(1000)), 0).Mul(decimal.NewFromInt(int64(old.Sign())))).StringFixed(2)
		signal := map[byte]string{'i': deal.SigInvoice, 'f': deal.SigFee}[key[0]]
		s := rpJSONStep("same id, other content "+key, signal, body)
		s.sends[0].led = &rpEntry{key: key, bucket: row.bucket, amount: row.amount}
		return s
	case x < 17:
		// A burst of plain signals: an invoice sent twice at once, and a fee.
		a := r.invoice(r.nextID("INV/2026/"))
		b := *a.sends[0]
		f := r.fee(r.nextID("FEE-"), "collected")
		return rpStep{desc: "burst: " + a.desc + " twice, " + f.desc, sends: []*rpSend{a.sends[0], &b, f.sends[0]}}
	}
	return r.badLedger()
}

// badLedger is an invoice or fee the rules refuse.
func (r *randomDeal) badLedger() rpStep {
	id := r.nextID("BAD-")
	inv := map[string]any{"invoice_id": id, "category": "travel", "amount": "12.50", "currency": "EUR", "date": "2026-03-01"}
	desc := ""
	switch r.pick(12) {
	case 0:
		inv["amount"] = json.Number("12.5")
		desc = "invoice amount as a JSON number"
	case 1:
		inv["currency"] = []string{"EURO", "eur", "XAU", "ZZZ", ""}[r.pick(5)]
		desc = fmt.Sprintf("invoice in currency %q", inv["currency"])
	case 2:
		inv["invoice_id"] = "inv " + id
		desc = "invoice id with a space"
	case 3:
		inv["amount"] = "-12.50"
		desc = "negative invoice, not a credit note"
	case 4:
		inv["amount"] = "0.00"
		desc = "zero invoice"
	case 5:
		inv["amount"] = "12.505"
		desc = "invoice with a tenth of a cent"
	case 6:
		inv["fx_rate"] = "1.1"
		desc = "fx_rate on a EUR invoice"
	case 7:
		inv["currency"] = "USD"
		desc = "USD invoice without fx_rate"
	case 8:
		inv["vat"] = "2.00"
		desc = "invoice with an unknown field"
	case 9:
		inv["supplier"] = "Ini\x00tech"
		desc = "supplier with NUL"
	case 10:
		s := rpJSONStep("fee in USD", deal.SigFee, map[string]string{"fee_id": id, "kind": "invoiced", "amount": "10.00", "currency": "USD", "date": "2026-03-01"})
		s.sends[0].led = &rpEntry{key: "f:" + id, invalid: true}
		return s
	default:
		inv["memo"] = strings.Repeat("m", 501)
		desc = "invoice memo too long"
	}
	s := rpJSONStep(desc, deal.SigInvoice, inv)
	s.sends[0].led = &rpEntry{key: "i:" + id, invalid: true}
	return s
}

var rpUnknownNames = []string{"Invoice", "approve", "sign_off", "handover2", "Stage", "fees", "close-won", "ping",
	"invoice ", "sig nal", "Übergabe", strings.Repeat("n", 200)}

func (r *randomDeal) unknownSignal() rpStep {
	name := rpUnknownNames[r.pick(len(rpUnknownNames))]
	s := rpOne("unknown signal "+name, name, []byte(`{"by":"U_PM"}`))
	s.sends[0].unknown = true
	return s
}
