// Package intake takes finance's invoice files: small ones at once, large
// ones as jobs that survive a worker restart. Every row gets an answer;
// rows go to their deals in batches (the `invoices` update), and a row whose
// deal has ended is answered from PostgreSQL.
package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"dealflow/db"
	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/workflows"
)

// Submit sends rows to their deals and answers each, in file order. source
// names the file for a sender that may send it again (a job), or is "".
func Submit(ctx context.Context, store *db.Store, c client.Client, rows []deal.InvoiceRow, source string) []workflows.InvoiceOutcome {
	precheck(ctx, store, rows)
	return workflows.SubmitInvoices(ctx, c, rows, source, func(ctx context.Context, r deal.InvoiceRow) (string, string) {
		return ended(ctx, store, r)
	})
}

// precheck refuses, before anything is sent, the rows the deal would refuse
// anyway (a zero amount, a missing fx_rate...): that needs only the deal's
// currency, read from PostgreSQL in one query. Such a row is finance's
// mistake, not an event of the deal, so it is not recorded on the deal.
// What depends on the deal's state (an invoice id already taken) is left
// to the deal. When the currencies cannot be read, the deal answers all.
func precheck(ctx context.Context, store *db.Store, rows []deal.InvoiceRow) {
	var ids []string
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Err == nil && !seen[r.DealID] {
			seen[r.DealID] = true
			ids = append(ids, r.DealID)
		}
	}
	found, err := store.Queries().DealCurrencies(ctx, ids)
	if err != nil {
		return
	}
	currency := map[string]string{}
	for _, f := range found {
		currency[f.DealID] = f.Currency
	}
	for i := range rows {
		r := &rows[i]
		if cur, ok := currency[r.DealID]; ok && r.Err == nil {
			if _, err := deal.NewInvoice(r.Invoice, cur); err != nil {
				r.Err = err
			}
		}
	}
}

// ended answers a row whose deal has no workflow: the deal never existed,
// or it ended and its late-cost window closed. A re-sent invoice it took
// is a duplicate, as it would have been while the deal was open.
func ended(ctx context.Context, store *db.Store, r deal.InvoiceRow) (string, string) {
	q := store.Queries()
	d, err := q.GetDeal(ctx, r.DealID)
	if errors.Is(err, pgx.ErrNoRows) {
		return deal.Refused, fmt.Sprintf("unknown deal %s", r.DealID)
	}
	if err != nil {
		return workflows.OutcomeUnknown, "reading the deal failed (" + err.Error() + "); send the same row again, which is safe"
	}
	found, err := q.FindInvoices(ctx, dbq.FindInvoicesParams{DealID: r.DealID, Ids: []string{r.Invoice.InvoiceID}})
	if err != nil {
		return workflows.OutcomeUnknown, "reading the deal failed (" + err.Error() + "); send the same row again, which is safe"
	}
	if len(found) == 1 {
		inv, err := deal.NewInvoice(r.Invoice, d.Currency)
		f := found[0]
		old := deal.Invoice{Category: f.Category, Amount: f.Amount, Currency: f.Currency, FXRate: f.FxRate,
			Date: deal.Date{Time: f.InvoiceDate}, Supplier: f.Supplier, Memo: f.Memo, Credit: f.Credit}
		if err == nil && old.SameContent(inv) {
			return deal.Duplicate, ""
		}
	}
	when := "ended"
	if d.EndedAt != nil {
		when = "ended on " + d.EndedAt.Format("2006-01-02")
	}
	return deal.Refused, fmt.Sprintf("deal %s %s and no longer takes costs (its late-cost window is over)", r.DealID, when)
}

// invoiceJSON is how a row waits in intake_rows.
func invoiceJSON(r deal.InvoiceRow) string {
	if r.Err != nil {
		return ""
	}
	b, _ := json.Marshal(r.Invoice)
	return string(b)
}
