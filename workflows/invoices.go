package workflows

import (
	"context"
	"errors"

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

// SubmitInvoices sends each readable row to its deal and answers every row.
// A bad row, or an unknown deal, is refused on its own; the others go on.
func SubmitInvoices(ctx context.Context, c client.Client, rows []deal.InvoiceRow) []InvoiceOutcome {
	out := make([]InvoiceOutcome, 0, len(rows))
	for _, r := range rows {
		o := InvoiceOutcome{Row: r.Row, DealID: r.DealID, InvoiceID: r.Invoice.InvoiceID}
		if r.Err != nil {
			o.Status, o.Reason = deal.Refused, r.Err.Error()
			out = append(out, o)
			continue
		}
		res, err := Send(ctx, c, r.DealID, deal.SigInvoice, mustJSON(r.Invoice))
		switch {
		case errors.Is(err, ErrUnknownDeal):
			o.Status, o.Reason = deal.Refused, "unknown deal "+r.DealID+", or it is already closed"
		case err != nil:
			o.Status, o.Reason = OutcomeUnknown, "the deal did not answer ("+err.Error()+"); it may have taken the invoice: send the same row again, which is safe"
		default:
			o.Status, o.Reason = res.Status, res.Reason
		}
		out = append(out, o)
	}
	return out
}
