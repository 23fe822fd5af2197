package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"dealflow/db/dbq"
	"dealflow/deal"
)

// LedgerEntry is an invoice or fee for TakeLedger, with who sent it.
type LedgerEntry struct {
	deal.LedgerEntry
	// Source names the row when its sender may send it again (an intake
	// job resuming after a crash names the job and the row); "" otherwise.
	Source string `json:"source,omitempty"`
}

// TakeLedger takes one batch of a deal's invoices and fees, in order, and
// answers each: accepted (new, or already taken by this same batch or
// source: a retry whose first attempt committed before the worker died),
// duplicate (the same content under an id taken before), or refused (other
// content under a taken id). It returns the deal's totals afterwards. The
// deal's row is locked for the batch, so batches of one deal never
// interleave; the work is one lookup, one COPY and one update per batch.
func (s *Store) TakeLedger(ctx context.Context, dealID string, batch int64, entries []LedgerEntry) ([]deal.Result, deal.Ledger, error) {
	answers := make([]deal.Result, len(entries))
	var totals deal.Ledger
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		lock, err := q.LockLedger(ctx, dealID)
		if err != nil {
			return fmt.Errorf("deal %s: %w", dealID, err)
		}
		totals = ledgerOf(lock)
		taken, err := findTaken(ctx, q, dealID, entries)
		if err != nil {
			return err
		}
		var invRows []dbq.InsertInvoicesParams
		var feeRows []dbq.InsertFeesParams
		for i, e := range entries {
			key := entryKey(e.LedgerEntry)
			prev, seen := taken[key]
			switch {
			case seen && (prev.batch == batch || (e.Source != "" && prev.source == e.Source)) && prev.entry.SameAs(e.LedgerEntry):
				answers[i] = deal.Result{Status: deal.Accepted}
				taken[key] = takenEntry{entry: prev.entry, batch: -1}
				continue
			case seen && prev.entry.SameAs(e.LedgerEntry):
				answers[i] = deal.Result{Status: deal.Duplicate}
				continue
			case seen:
				answers[i] = deal.Result{Status: deal.Refused, Reason: prev.entry.Conflict()}
				continue
			}
			answers[i] = deal.Result{Status: deal.Accepted}
			// A later row of this batch with the same id is a repeat of this one.
			taken[key] = takenEntry{entry: e.LedgerEntry, batch: -1}
			totals.Add(e.LedgerEntry)
			if inv := e.Invoice; inv != nil {
				invRows = append(invRows, dbq.InsertInvoicesParams{DealID: dealID, InvoiceID: inv.InvoiceID, Category: inv.Category,
					Amount: inv.Amount, Currency: inv.Currency, FxRate: inv.FXRate, DealAmount: inv.DealAmount,
					InvoiceDate: inv.Date.Time, Supplier: inv.Supplier, Memo: inv.Memo, Credit: inv.Credit,
					ReceivedAt: inv.ReceivedAt, Position: int32(totals.Invoices), Batch: batch, Source: e.Source})
			}
			if f := e.Fee; f != nil {
				feeRows = append(feeRows, dbq.InsertFeesParams{DealID: dealID, FeeID: f.FeeID, Kind: f.Kind, Amount: f.Amount,
					Currency: f.Currency, FeeDate: f.Date.Time, Position: int32(totals.Fees), Batch: batch, Source: e.Source})
			}
		}
		if len(invRows) > 0 {
			if _, err := q.InsertInvoices(ctx, invRows); err != nil {
				return err
			}
		}
		if len(feeRows) > 0 {
			if _, err := q.InsertFees(ctx, feeRows); err != nil {
				return err
			}
		}
		totals.Batches = max(totals.Batches, batch)
		if err := q.TouchHubSpotOutbox(ctx, dealID); err != nil {
			return err
		}
		return q.SetLedger(ctx, setLedgerParams(dealID, batch, totals))
	})
	if err != nil {
		return nil, deal.Ledger{}, err
	}
	return answers, totals, nil
}

// takenEntry is a ledger row already stored, or taken earlier in the batch
// (batch -1).
type takenEntry struct {
	entry  deal.LedgerEntry
	batch  int64
	source string
}

// entryKey keeps invoice and fee ids apart: they are separate namespaces.
func entryKey(e deal.LedgerEntry) string {
	if e.Invoice != nil {
		return "i:" + e.Invoice.InvoiceID
	}
	return "f:" + e.ID()
}

func findTaken(ctx context.Context, q *dbq.Queries, dealID string, entries []LedgerEntry) (map[string]takenEntry, error) {
	var invIDs, feeIDs []string
	for _, e := range entries {
		if e.Invoice != nil {
			invIDs = append(invIDs, e.Invoice.InvoiceID)
		} else if e.Fee != nil {
			feeIDs = append(feeIDs, e.Fee.FeeID)
		}
	}
	taken := map[string]takenEntry{}
	if len(invIDs) > 0 {
		rows, err := q.FindInvoices(ctx, dbq.FindInvoicesParams{DealID: dealID, Ids: invIDs})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			inv := deal.Invoice{InvoiceID: r.InvoiceID, Category: r.Category, Amount: r.Amount, Currency: r.Currency,
				FXRate: r.FxRate, DealAmount: r.DealAmount, Date: deal.Date{Time: r.InvoiceDate}, Supplier: r.Supplier,
				Memo: r.Memo, Credit: r.Credit}
			taken["i:"+r.InvoiceID] = takenEntry{entry: deal.LedgerEntry{Invoice: &inv}, batch: r.Batch, source: r.Source}
		}
	}
	if len(feeIDs) > 0 {
		rows, err := q.FindFees(ctx, dbq.FindFeesParams{DealID: dealID, Ids: feeIDs})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			f := deal.Fee{FeeID: r.FeeID, Kind: r.Kind, Amount: r.Amount, Currency: r.Currency, Date: deal.Date{Time: r.FeeDate}}
			taken["f:"+r.FeeID] = takenEntry{entry: deal.LedgerEntry{Fee: &f}, batch: r.Batch, source: r.Source}
		}
	}
	return taken, nil
}

func ledgerOf(r dbq.LockLedgerRow) deal.Ledger {
	l := deal.NewLedger()
	costs := map[string]decimal.Decimal{"subcontractor": r.CostSubcontractor, "license": r.CostLicense,
		"travel": r.CostTravel, "internal": r.CostInternal}
	for i := range l.Costs {
		l.Costs[i].Amount = costs[l.Costs[i].Category]
	}
	l.Invoices, l.Fees, l.Batches = r.InvoiceCount, r.FeeCount, r.LedgerBatches
	l.FeesInvoiced, l.FeesCollected = r.FeesInvoiced, r.FeesCollected
	return l
}

func setLedgerParams(dealID string, batch int64, l deal.Ledger) dbq.SetLedgerParams {
	cost := func(cat string) decimal.Decimal {
		for _, c := range l.Costs {
			if c.Category == cat {
				return c.Amount
			}
		}
		return decimal.Zero
	}
	return dbq.SetLedgerParams{DealID: dealID, Batch: batch, InvoiceCount: l.Invoices, FeeCount: l.Fees,
		CostSubcontractor: cost("subcontractor"), CostLicense: cost("license"), CostTravel: cost("travel"),
		CostInternal: cost("internal"), FeesInvoiced: l.FeesInvoiced, FeesCollected: l.FeesCollected}
}
