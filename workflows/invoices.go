package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"

	"go.temporal.io/sdk/client"

	"dealflow/deal"
)

// InvoiceOutcome is the answer for one row of a finance file.
type InvoiceOutcome struct {
	Row       int    `json:"row"`
	DealID    string `json:"deal_id"`
	InvoiceID string `json:"invoice_id"`
	// Status is accepted, duplicate, refused, or unknown when the deal did
	// not answer.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// OutcomeUnknown is a row sent whose answer never came: the invoice may or
// may not have been taken. Sending the same row again is safe, since the
// invoice id makes a repeat a no-op; a new id would count it twice.
const OutcomeUnknown = "unknown"

// Submission bounds: deals sent to at once, and the bytes of one update.
const (
	parallelDeals  = 8
	maxUpdateBytes = 1 << 20
)

// SubmitInvoices sends the readable rows to their deals, a batch per
// update, several deals at once, and answers every row in file order. A
// bad row, or an unknown deal, is refused on its own; the others go on.
// source, when not empty, names the file: each row is sent with source
// and its row number, so sending the same file again after a crash
// answers its rows as taken, not as duplicates. ended answers a row whose
// deal has no workflow (it never existed, or it ended); nil refuses it.
func SubmitInvoices(ctx context.Context, c client.Client, rows []deal.InvoiceRow, source string, ended Ended) []InvoiceOutcome {
	out := make([]InvoiceOutcome, len(rows))
	byDeal := map[string][]int{}
	var deals []string
	for i, r := range rows {
		out[i] = InvoiceOutcome{Row: r.Row, DealID: r.DealID, InvoiceID: r.Invoice.InvoiceID}
		if r.Err != nil {
			out[i].Status, out[i].Reason = deal.Refused, r.Err.Error()
			continue
		}
		if _, ok := byDeal[r.DealID]; !ok {
			deals = append(deals, r.DealID)
		}
		byDeal[r.DealID] = append(byDeal[r.DealID], i)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallelDeals)
	for _, id := range deals {
		wg.Add(1)
		sem <- struct{}{}
		go func(id string, idx []int) {
			defer func() { <-sem; wg.Done() }()
			submitDeal(ctx, c, id, rows, idx, source, ended, out)
		}(id, byDeal[id])
	}
	wg.Wait()
	return out
}

// submitDeal sends one deal's rows in batches; each goroutine writes only
// its own rows' outcomes.
func submitDeal(ctx context.Context, c client.Client, dealID string, rows []deal.InvoiceRow, idx []int, source string, ended Ended, out []InvoiceOutcome) {
	for len(idx) > 0 {
		var b InvoiceBatch
		size, n := 0, 0
		for n < len(idx) && n < MaxBatch {
			raw, _ := json.Marshal(rows[idx[n]].Invoice)
			if n > 0 && size+len(raw) > maxUpdateBytes {
				break
			}
			size += len(raw)
			b.Invoices = append(b.Invoices, raw)
			if source != "" {
				b.Sources = append(b.Sources, source+"#"+strconv.Itoa(rows[idx[n]].Row))
			}
			n++
		}
		res, err := SendInvoices(ctx, c, dealID, b)
		for k, i := range idx[:n] {
			switch {
			case errors.Is(err, ErrUnknownDeal) && ended != nil:
				out[i].Status, out[i].Reason = ended(ctx, rows[i])
			case errors.Is(err, ErrUnknownDeal):
				out[i].Status, out[i].Reason = deal.Refused, "unknown deal "+dealID+", or it no longer takes costs"
			case err != nil:
				out[i].Status, out[i].Reason = OutcomeUnknown, "the deal did not answer ("+err.Error()+"); it may have taken the invoice: send the same row again, which is safe"
			default:
				out[i].Status, out[i].Reason = res[k].Status, res[k].Reason
			}
		}
		idx = idx[n:]
	}
}

// Ended answers a row whose deal has no workflow running.
type Ended func(ctx context.Context, row deal.InvoiceRow) (status, reason string)
