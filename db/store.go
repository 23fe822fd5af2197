package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"dealflow/db/dbq"
	"dealflow/deal"
)

// ErrNotFound is returned for a deal the database does not know.
var ErrNotFound = errors.New("deal not found")

// Store writes what changed in a deal and reads whole deals back. Every
// write is keyed by ids the workflow assigned, so a retried activity
// writes the same rows.
type Store struct {
	Pool *pgxpool.Pool
}

func (s *Store) Queries() *dbq.Queries { return dbq.New(s.Pool) }

// ImportRecord writes a whole record in one transaction: how tests and
// report fixtures seed a deal without walking it through its workflow.
// Rows are upserted by key, so importing twice writes once.
func (s *Store) ImportRecord(ctx context.Context, r *deal.Record, snaps []deal.Snapshot, firstRunID string) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		if _, err := q.UpsertDeal(ctx, dealParams(r)); err != nil {
			return err
		}
		var b batcher
		if err := queueRecord(ctx, dbq.New(&b), r); err != nil {
			return err
		}
		if err := queueRows(ctx, dbq.New(&b), r.Terms.DealID, r.Version, deal.Rows{Snapshots: snaps}, false); err != nil {
			return err
		}
		if err := b.send(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE deals SET first_run_id = $2 WHERE deal_id = $1 AND first_run_id = ''`, r.Terms.DealID, firstRunID); err != nil {
			return err
		}
		return q.SetLedger(ctx, setLedgerParams(r.Terms.DealID, 0, deal.LedgerOf(r.Invoices, r.Fees)))
	})
}

// queueRecord upserts every row of a whole record, in its order.
func queueRecord(ctx context.Context, q *dbq.Queries, r *deal.Record) error {
	id := r.Terms.DealID
	rows := deal.Rows{StageChanges: r.History, Commitments: r.Commitments, Handover: r.Handover, Incidents: r.Incidents,
		ChangeOrders: r.ChangeOrders, Refusals: r.Refusals, Alerts: r.Alerts, Questions: r.Questions}
	for _, t := range r.Tickets {
		rows.Tickets = append(rows.Tickets, t)
		for _, so := range t.Signoffs {
			rows.Signoffs = append(rows.Signoffs, deal.TicketSignoff{Ticket: t.ID, Signoff: so})
		}
	}
	if err := queueRows(ctx, q, id, r.Version, rows, true); err != nil {
		return err
	}
	for i, f := range r.Fees {
		if err := q.UpsertFee(ctx, dbq.UpsertFeeParams{DealID: id, Position: int32(i), FeeID: f.FeeID, Kind: f.Kind, Amount: f.Amount,
			Currency: f.Currency, FeeDate: f.Date.Time}); err != nil {
			return err
		}
	}
	for n, i := range r.Invoices {
		if err := q.UpsertInvoice(ctx, dbq.UpsertInvoiceParams{DealID: id, Position: int32(n), InvoiceID: i.InvoiceID, Category: i.Category,
			Amount: i.Amount, Currency: i.Currency, FxRate: i.FXRate, DealAmount: i.DealAmount, InvoiceDate: i.Date.Time,
			Supplier: i.Supplier, Memo: i.Memo, Credit: i.Credit, ReceivedAt: i.ReceivedAt}); err != nil {
			return err
		}
	}
	return nil
}

// queueRows upserts one batch of rows. Positions come from the lists when
// a whole record is imported (ordered), and are appended after the
// stored rows otherwise.
//
// version is the deal version the rows come from: a row changed in place
// (a ticket, the handover, an incident, a change order) that PostgreSQL
// holds from a newer version is left as it is, so a late write of an old
// run never moves it back.
func queueRows(ctx context.Context, q *dbq.Queries, id string, version int64, r deal.Rows, ordered bool) error {
	pos := func(i int) int32 {
		if ordered {
			return int32(i)
		}
		return -1
	}
	for _, c := range r.StageChanges {
		if err := q.UpsertStageChange(ctx, dbq.UpsertStageChangeParams{DealID: id, Seq: int32(c.Seq), FromStage: string(c.From),
			ToStage: string(c.To), At: c.At, ByUser: c.By, Reason: c.Reason}); err != nil {
			return err
		}
	}
	for n, t := range r.Tickets {
		if err := q.UpsertTicket(ctx, dbq.UpsertTicketParams{DealID: id, TicketID: t.ID, Owner: t.Owner, DeliverableKind: t.DeliverableKind,
			ClientSignoffRequired: t.ClientSignoffRequired, Status: t.Status, OpenedAt: t.OpenedAt, ClosedAt: t.ClosedAt,
			InternalApproved: t.InternalApproved, ClientApproved: t.ClientApproved, Position: pos(n), WriteVersion: version}); err != nil {
			return err
		}
		if d := t.Deliverable; d != nil {
			if err := q.SetTicketDeliverable(ctx, dbq.SetTicketDeliverableParams{DealID: id, TicketID: t.ID,
				DeliverableBody: d.Body, DeliverableUrl: d.URL, WriteVersion: version}); err != nil {
				return err
			}
		}
	}
	for _, ts := range r.Signoffs {
		so := ts.Signoff
		var d deal.Deliverable
		if so.Deliverable != nil {
			d = *so.Deliverable
		}
		p := dbq.UpsertSignoffParams{DealID: id, TicketID: ts.Ticket, Seq: int32(so.Seq), SignoffID: so.ID,
			ByUser: so.By, Side: so.Side, Decision: so.Decision, DeliverableKind: d.Kind, DeliverableBody: d.Body,
			DeliverableUrl: d.URL, Note: so.Note, At: so.At, Refused: so.Refused, Reason: so.Reason}
		if c := so.Client; c != nil {
			p.ClientName, p.ClientEmail, p.ClientEvidence, p.ClientLinkID = c.Name, c.Email, c.Evidence, c.LinkID
		}
		if err := q.UpsertSignoff(ctx, p); err != nil {
			return err
		}
	}
	for i, c := range r.Commitments {
		if err := q.UpsertCommitment(ctx, dbq.UpsertCommitmentParams{DealID: id, Position: pos(i), CommitmentID: c.ID, Kind: c.Kind, Text: c.Text,
			Value: c.Value, ByUser: c.By, At: c.At}); err != nil {
			return err
		}
	}
	if h := r.Handover; h != nil {
		acks := h.Checklist.CommitmentsAcknowledged
		if acks == nil {
			acks = []string{}
		}
		var amb []string
		if h.Checklist.ScopeAmbiguities != nil {
			amb = append([]string{}, *h.Checklist.ScopeAmbiguities...)
		}
		if err := q.UpsertHandover(ctx, dbq.UpsertHandoverParams{DealID: id, Pm: h.PM, Status: h.Status, OpenedAt: h.OpenedAt,
			SignedOffAt: h.SignedOffAt, SignedOffBy: h.SignedOffBy, DeliverablesReviewed: h.Checklist.DeliverablesReviewed,
			CommitmentsAcknowledged: acks, ScopeAmbiguities: amb, ResourcesConfirmed: h.Checklist.ResourcesConfirmed, WriteVersion: version}); err != nil {
			return err
		}
	}
	for n, i := range r.Incidents {
		if err := q.UpsertIncident(ctx, dbq.UpsertIncidentParams{DealID: id, Position: pos(n), IncidentID: i.IncidentID, Severity: i.Severity,
			Status: i.Status, Title: i.Title, OpenedAt: i.OpenedAt, UpdatedAt: i.UpdatedAt, WriteVersion: version}); err != nil {
			return err
		}
	}
	for i, c := range r.ChangeOrders {
		if err := q.UpsertChangeOrder(ctx, dbq.UpsertChangeOrderParams{DealID: id, Position: pos(i), ChangeOrderID: c.ID, Amount: c.Amount,
			PlannedCost: c.PlannedCost, Status: c.Status, ByUser: c.By, At: c.At, WriteVersion: version}); err != nil {
			return err
		}
	}
	for _, f := range r.Refusals {
		if err := q.UpsertRefusal(ctx, dbq.UpsertRefusalParams{DealID: id, Seq: int32(f.Seq), Signal: f.Signal, Reason: f.Reason,
			Payload: f.Payload, At: f.At}); err != nil {
			return err
		}
	}
	for i, a := range r.Alerts {
		m := a.Margin
		if err := q.UpsertMarginAlert(ctx, dbq.UpsertMarginAlertParams{DealID: id, AlertID: a.ID, Kind: a.Kind, FromStatus: a.From,
			ToStatus: a.To, At: a.At, Revenue: m.Revenue, ActualCost: m.ActualCost, Eac: m.EAC,
			ForecastMarginPct: m.ForecastMarginPct, TargetMarginPct: m.TargetMarginPct, DriftPts: m.DriftPts, Position: pos(i)}); err != nil {
			return err
		}
	}
	for _, qu := range r.Questions {
		if err := q.UpsertQuestion(ctx, questionParams(id, qu)); err != nil {
			return err
		}
	}
	for _, sn := range r.Snapshots {
		m := sn.Margin
		if err := q.UpsertMarginSnapshot(ctx, dbq.UpsertMarginSnapshotParams{DealID: id, Seq: sn.Seq, TakenAt: m.AsOf,
			Revenue: m.Revenue, PlannedCost: m.PlannedCost, ActualCost: m.ActualCost, Eac: m.EAC, PctComplete: m.PctComplete,
			CurrentMarginPct: m.CurrentMarginPct, ForecastMarginPct: m.ForecastMarginPct, TargetMarginPct: m.TargetMarginPct,
			DriftPts: m.DriftPts, Status: m.Status}); err != nil {
			return err
		}
	}
	for _, n := range r.Notices {
		if err := q.InsertNotice(ctx, dbq.InsertNoticeParams{DealID: id, Seq: n.Seq, Body: n.Body}); err != nil {
			return err
		}
	}
	for _, k := range r.Keys {
		if err := q.InsertAppliedKey(ctx, dbq.InsertAppliedKeyParams{DealID: id, Key: k.Key, Signal: k.Signal, Status: k.Status,
			Reason: k.Reason, AppliedAt: k.At}); err != nil {
			return err
		}
	}
	return nil
}

// Notice is a deal's notice by its number: its body, and whether Slack
// already has it.
func (s *Store) Notice(ctx context.Context, dealID string, seq int64) (body []byte, sent bool, err error) {
	n, err := dbq.New(s.Pool).GetNotice(ctx, dbq.GetNoticeParams{DealID: dealID, Seq: seq})
	if err != nil {
		return nil, false, err
	}
	return n.Body, n.SentAt != nil, nil
}

// MarkNoticeSent records that Slack has a notice.
func (s *Store) MarkNoticeSent(ctx context.Context, dealID string, seq int64) error {
	return dbq.New(s.Pool).MarkNoticeSent(ctx, dbq.MarkNoticeSentParams{DealID: dealID, Seq: seq})
}

// AppliedKey is the first answer a deal gave to an idempotency key, if it
// applied that key.
func (s *Store) AppliedKey(ctx context.Context, dealID, key string) (deal.Result, bool, error) {
	k, err := dbq.New(s.Pool).GetAppliedKey(ctx, dbq.GetAppliedKeyParams{DealID: dealID, Key: key})
	if errors.Is(err, pgx.ErrNoRows) {
		return deal.Result{}, false, nil
	}
	if err != nil {
		return deal.Result{}, false, err
	}
	return deal.Result{Status: k.Status, Reason: k.Reason}, true, nil
}

func dealParams(r *deal.Record) dbq.UpsertDealParams {
	t, m := r.Terms, r.Margin
	p := dbq.UpsertDealParams{
		DealID: t.DealID, Client: t.Client, Workstream: t.Workstream, Currency: t.Currency,
		ContractValue: t.ContractValue, TargetMarginPct: t.TargetMarginPct, PlannedCost: deref(t.PlannedCost),
		StartDate: t.StartDate.Time, EndDate: t.EndDate.Time, Ae: t.People.AE, Presales: t.People.Presales,
		PricingApprover: t.People.PricingApprover, Pm: t.People.PM, Gm: t.People.GM, SlackChannel: t.SlackChannel,
		ClientSignoff: nonNil(t.ClientSignoff), MarginWarnPts: deref(t.MarginWarnPts), MarginCriticalPts: deref(t.MarginCriticalPts),
		MarginCheckEvery: t.MarginCheckEvery, Stage: string(r.Stage), BaseStage: string(r.BaseStage), OpenedAt: r.OpenedAt,
		MarginAsOf: m.AsOf, Revenue: m.Revenue, ActualCost: m.ActualCost, Eac: m.EAC, CurrentMargin: m.CurrentMargin,
		CurrentMarginPct: m.CurrentMarginPct, ForecastMarginPct: m.ForecastMarginPct, DriftPts: m.DriftPts,
		MarginStatus: m.Status, AlertedStatus: r.AlertedMarginStatus(), PendingChangeOrders: m.PendingChangeOrders,
		FeesInvoiced: m.FeesInvoiced, FeesCollected: m.FeesCollected, FeesPending: m.FeesPending,
		OpenIncidents: int32(r.OpenIncidents()), MarginChecks: r.MarginChecks, Version: r.Version,
		ClientLinkDays: clientLinkDays(t),
	}
	if c := r.Close; c != nil {
		at := c.At
		p.CloseOutcome, p.CloseBy, p.CloseReason, p.ClosedAt = c.Outcome, c.By, c.Reason, &at
	}
	if pr := r.Progress; pr != nil {
		pct, at := pr.PctComplete, pr.At
		p.PctComplete, p.ProgressBy, p.ProgressAt = &pct, pr.By, &at
	}
	return p
}

func clientLinkDays(t deal.Terms) int32 { return int32(t.ClientLinkTTL().Hours() / 24) }

func deref(d *decimal.Decimal) decimal.Decimal {
	if d == nil {
		return decimal.Zero
	}
	return *d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// LoadRecord reads a deal back as the same Record the workflow holds. The
// margin is recomputed from the stored rows as of the stored time, which
// gives the stored figures again because the arithmetic is pure.
func (s *Store) LoadRecord(ctx context.Context, dealID string) (*deal.Record, error) {
	q := dbq.New(s.Pool)
	d, err := q.GetDeal(ctx, dealID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, dealID)
	}
	if err != nil {
		return nil, err
	}
	r := &deal.Record{Terms: termsOf(d), Stage: deal.Stage(d.Stage), BaseStage: deal.Stage(d.BaseStage),
		OpenedAt: d.OpenedAt, MarginChecks: d.MarginChecks, Version: d.Version}
	if d.CloseOutcome != "" {
		r.Close = &deal.Close{Outcome: d.CloseOutcome, By: d.CloseBy, Reason: d.CloseReason, At: derefTime(d.ClosedAt)}
	}
	if d.PctComplete != nil {
		r.Progress = &deal.Progress{PctComplete: *d.PctComplete, By: d.ProgressBy, At: derefTime(d.ProgressAt)}
	}
	if err := loadChildren(ctx, q, r); err != nil {
		return nil, err
	}
	// The ledger's totals, not the invoices read (the newest only): the
	// same figures the workflow computed from the same totals.
	l := ledgerOf(dbq.LockLedgerRow{InvoiceCount: d.InvoiceCount, FeeCount: d.FeeCount, CostSubcontractor: d.CostSubcontractor,
		CostLicense: d.CostLicense, CostTravel: d.CostTravel, CostInternal: d.CostInternal, FeesInvoiced: d.FeesInvoiced,
		FeesCollected: d.FeesCollected, LedgerBatches: d.LedgerBatches})
	r.InvoicesTotal, r.RefusalsTotal, r.Health = l.Invoices, d.RefusalCount, d.Health
	r.Margin = deal.ComputeMargin(deal.MarginInputs{Terms: r.Terms, Ledger: l, ChangeOrders: r.ChangeOrders, Progress: r.Progress,
		Now: d.MarginAsOf})
	return r, nil
}

func termsOf(d dbq.Deal) deal.Terms {
	pc, warn, crit, late, linkDays := d.PlannedCost, d.MarginWarnPts, d.MarginCriticalPts, int(d.LateCostDays), int(d.ClientLinkDays)
	return deal.Terms{DealID: d.DealID, Client: d.Client, Workstream: d.Workstream, Currency: d.Currency,
		ContractValue: d.ContractValue, TargetMarginPct: d.TargetMarginPct, PlannedCost: &pc,
		StartDate: deal.Date{Time: d.StartDate}, EndDate: deal.Date{Time: d.EndDate},
		People:        deal.People{AE: d.Ae, Presales: d.Presales, PricingApprover: d.PricingApprover, PM: d.Pm, GM: d.Gm},
		ClientSignoff: d.ClientSignoff, SlackChannel: d.SlackChannel, MarginWarnPts: &warn, MarginCriticalPts: &crit,
		MarginCheckEvery: d.MarginCheckEvery, LateCostDays: &late, ClientLinkDays: &linkDays}
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func loadChildren(ctx context.Context, q *dbq.Queries, r *deal.Record) error {
	id := r.Terms.DealID
	changes, err := q.ListStageChanges(ctx, id)
	if err != nil {
		return err
	}
	r.History = make([]deal.StageChange, 0, len(changes))
	for _, c := range changes {
		r.History = append(r.History, deal.StageChange{Seq: int(c.Seq), From: deal.Stage(c.FromStage), To: deal.Stage(c.ToStage),
			At: c.At, By: c.ByUser, Reason: c.Reason})
	}
	if err := loadTickets(ctx, q, r); err != nil {
		return err
	}
	cms, err := q.ListCommitments(ctx, id)
	if err != nil {
		return err
	}
	r.Commitments = make([]deal.Commitment, 0, len(cms))
	for _, c := range cms {
		r.Commitments = append(r.Commitments, deal.Commitment{ID: c.CommitmentID, Kind: c.Kind, Text: c.Text, Value: c.Value, By: c.ByUser, At: c.At})
	}
	h, err := q.GetHandover(ctx, id)
	switch {
	case err == nil:
		ho := &deal.HandoverTicket{PM: h.Pm, Status: h.Status, OpenedAt: h.OpenedAt, SignedOffAt: h.SignedOffAt, SignedOffBy: h.SignedOffBy,
			Checklist: deal.Checklist{DeliverablesReviewed: h.DeliverablesReviewed, CommitmentsAcknowledged: h.CommitmentsAcknowledged,
				ResourcesConfirmed: h.ResourcesConfirmed}}
		if h.ScopeAmbiguities != nil {
			amb := h.ScopeAmbiguities
			ho.Checklist.ScopeAmbiguities = &amb
		}
		r.Handover = ho
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	incs, err := q.ListIncidents(ctx, id)
	if err != nil {
		return err
	}
	r.Incidents = make([]deal.Incident, 0, len(incs))
	for _, i := range incs {
		r.Incidents = append(r.Incidents, deal.Incident{IncidentID: i.IncidentID, Severity: i.Severity, Status: i.Status, Title: i.Title,
			OpenedAt: i.OpenedAt, UpdatedAt: i.UpdatedAt})
	}
	fees, err := q.ListFees(ctx, id)
	if err != nil {
		return err
	}
	r.Fees = make([]deal.Fee, 0, len(fees))
	for _, f := range fees {
		r.Fees = append(r.Fees, deal.Fee{FeeID: f.FeeID, Kind: f.Kind, Amount: f.Amount, Currency: f.Currency, Date: deal.Date{Time: f.FeeDate}})
	}
	invs, err := q.ListInvoicesPage(ctx, dbq.ListInvoicesPageParams{DealID: id, Newest: deal.MaxInvoicesShown})
	if err != nil {
		return err
	}
	r.Invoices = make([]deal.Invoice, 0, len(invs))
	for _, i := range invs {
		r.Invoices = append(r.Invoices, deal.Invoice{InvoiceID: i.InvoiceID, Category: i.Category, Amount: i.Amount, Currency: i.Currency,
			FXRate: i.FxRate, DealAmount: i.DealAmount, Date: deal.Date{Time: i.InvoiceDate}, Supplier: i.Supplier, Memo: i.Memo,
			Credit: i.Credit, ReceivedAt: i.ReceivedAt})
	}
	if r.Questions, err = loadQuestions(ctx, q, id); err != nil {
		return err
	}
	cos, err := q.ListChangeOrders(ctx, id)
	if err != nil {
		return err
	}
	r.ChangeOrders = make([]deal.ChangeOrder, 0, len(cos))
	for _, c := range cos {
		r.ChangeOrders = append(r.ChangeOrders, deal.ChangeOrder{ID: c.ChangeOrderID, Amount: c.Amount, PlannedCost: c.PlannedCost,
			Status: c.Status, By: c.ByUser, At: c.At})
	}
	// PostgreSQL keeps every refusal; the record, the newest ones.
	refs, err := q.ListRefusals(ctx, dbq.ListRefusalsParams{DealID: id, Newest: deal.MaxRefusals})
	if err != nil {
		return err
	}
	r.Refusals = make([]deal.Refusal, 0, len(refs))
	for _, f := range refs {
		r.Refusals = append(r.Refusals, deal.Refusal{Seq: int(f.Seq), Signal: f.Signal, Reason: f.Reason, Payload: f.Payload, At: f.At})
	}
	alerts, err := q.ListMarginAlerts(ctx, id)
	if err != nil {
		return err
	}
	r.Alerts = make([]deal.Alert, 0, len(alerts))
	for _, a := range alerts {
		r.Alerts = append(r.Alerts, deal.Alert{ID: a.AlertID, Kind: a.Kind, From: a.FromStatus, To: a.ToStatus, At: a.At,
			Margin: deal.Margin{Revenue: a.Revenue, ActualCost: a.ActualCost, EAC: a.Eac, ForecastMarginPct: a.ForecastMarginPct,
				TargetMarginPct: a.TargetMarginPct, DriftPts: a.DriftPts, Status: a.ToStatus}})
	}
	return nil
}

func loadTickets(ctx context.Context, q *dbq.Queries, r *deal.Record) error {
	id := r.Terms.DealID
	ts, err := q.ListTickets(ctx, id)
	if err != nil {
		return err
	}
	sos, err := q.ListSignoffs(ctx, id)
	if err != nil {
		return err
	}
	r.Tickets = make([]deal.Ticket, 0, len(ts))
	for _, t := range ts {
		tk := ticketOf(t)
		for _, s := range sos {
			if s.TicketID == t.TicketID {
				tk.Signoffs = append(tk.Signoffs, signoffOf(s))
			}
		}
		r.Tickets = append(r.Tickets, tk)
	}
	return nil
}

// LoadTicket reads one ticket with its newest sign-offs, for a message.
func (s *Store) LoadTicket(ctx context.Context, dealID, ticketID string, newest int) (deal.Ticket, error) {
	q := dbq.New(s.Pool)
	t, err := q.GetTicket(ctx, dbq.GetTicketParams{DealID: dealID, TicketID: ticketID})
	if err != nil {
		return deal.Ticket{}, fmt.Errorf("ticket %s of %s: %w", ticketID, dealID, err)
	}
	sos, err := q.ListTicketSignoffs(ctx, dbq.ListTicketSignoffsParams{DealID: dealID, TicketID: ticketID, Newest: int32(newest)})
	if err != nil {
		return deal.Ticket{}, err
	}
	tk := ticketOf(t)
	for _, so := range sos {
		tk.Signoffs = append(tk.Signoffs, signoffOf(so))
	}
	return tk, nil
}

// LoadHandover reads what the PM reviews at handover: the presale tickets
// with their deliverables and newest sign-offs (the client's approval among
// them), and every commitment.
func (s *Store) LoadHandover(ctx context.Context, dealID string) ([]deal.Ticket, []deal.Commitment, error) {
	q := dbq.New(s.Pool)
	ts, err := q.ListTickets(ctx, dealID)
	if err != nil {
		return nil, nil, err
	}
	tickets := make([]deal.Ticket, 0, len(ts))
	for _, t := range ts {
		tk, err := s.LoadTicket(ctx, dealID, t.TicketID, handoverSignoffs)
		if err != nil {
			return nil, nil, err
		}
		tickets = append(tickets, tk)
	}
	cms, err := q.ListCommitments(ctx, dealID)
	if err != nil {
		return nil, nil, err
	}
	out := make([]deal.Commitment, 0, len(cms))
	for _, c := range cms {
		out = append(out, deal.Commitment{ID: c.CommitmentID, Kind: c.Kind, Text: c.Text, Value: c.Value, By: c.ByUser, At: c.At})
	}
	return tickets, out, nil
}

// handoverSignoffs is how many of each ticket's newest sign-offs the
// handover reads: enough to find the client's approval.
const handoverSignoffs = 10

func ticketOf(t dbq.Ticket) deal.Ticket {
	tk := deal.Ticket{ID: t.TicketID, Owner: t.Owner, DeliverableKind: t.DeliverableKind, ClientSignoffRequired: t.ClientSignoffRequired,
		Status: t.Status, OpenedAt: t.OpenedAt, ClosedAt: t.ClosedAt, InternalApproved: t.InternalApproved,
		ClientApproved: t.ClientApproved, Signoffs: []deal.Signoff{}}
	if t.DeliverableBody != "" || t.DeliverableUrl != "" {
		tk.Deliverable = &deal.Deliverable{Kind: t.DeliverableKind, Body: t.DeliverableBody, URL: t.DeliverableUrl}
	}
	return tk
}

func signoffOf(s dbq.Signoff) deal.Signoff {
	so := deal.Signoff{Seq: int(s.Seq), ID: s.SignoffID, By: s.ByUser, Side: s.Side, Decision: s.Decision, Note: s.Note,
		At: s.At, Refused: s.Refused, Reason: s.Reason}
	if s.ClientLinkID != "" {
		so.Client = &deal.ClientSigner{Name: s.ClientName, Email: s.ClientEmail, Evidence: s.ClientEvidence, LinkID: s.ClientLinkID}
	}
	if s.DeliverableKind != "" || s.DeliverableBody != "" || s.DeliverableUrl != "" {
		so.Deliverable = &deal.Deliverable{Kind: s.DeliverableKind, Body: s.DeliverableBody, URL: s.DeliverableUrl}
	}
	return so
}
