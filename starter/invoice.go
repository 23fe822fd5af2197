package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"dealflow/deal"
	"dealflow/workflows"
)

// runInvoice sends cost invoices. With --deal it is a signal like the
// others (flags, or --file with one payload); without --deal, --file is a
// finance file (one JSON invoice or an array, each with its deal_id) and
// --csv an accounting export. A file is answered row by row, and a bad row
// never holds back the good ones.
func runInvoice(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	f := newSignalForm(deal.SigInvoice,
		"--deal ID --invoice-id ID --category C --amount N --currency CUR --date YYYY-MM-DD [--supplier S] [--memo M] [--fx-rate R] [--credit]\n"+
			"       starter invoice --file INVOICES.json     (each invoice with its deal_id)\n"+
			"       starter invoice --csv INVOICES.csv       (columns deal_id, invoice_id, category, amount, currency, date[, supplier, memo, fx_rate, credit])",
		bindInvoice, checkInvoice)
	csvPath := f.fs.String("csv", "", "an accounting export, one invoice a row with its deal_id")
	if help, err := parse(f.fs, args, stdout); help || err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (see `starter invoice -h`)", f.fs.Arg(0))}
	}
	batch := *csvPath != "" || (f.file != "" && f.deal == "")
	if !batch {
		body, err := f.payload()
		if err != nil {
			return err
		}
		return send(ctx, t, f.deal, f.signal, body, stdout)
	}

	for name := range given(f.fs) {
		if name != "file" && name != "csv" {
			return usageError{fmt.Sprintf("a finance file names the deal and invoice on each row; drop --%s", name)}
		}
	}
	if *csvPath != "" && f.file != "" {
		return usageError{"give --csv or --file, not both"}
	}
	rows, err := readInvoiceFile(f.file, *csvPath)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("the file holds no invoices")
	}
	c, err := t.client(ctx)
	if err != nil {
		return err
	}
	// Without a worker no row would ever be answered; the deadline turns
	// that into refused rows rather than a hang.
	sctx, cancel := context.WithTimeout(ctx, answerTimeout+time.Duration(len(rows))*time.Second)
	defer cancel()
	return printInvoiceOutcomes(stdout, workflows.SubmitInvoices(sctx, c, rows, "", nil))
}

func readInvoiceFile(jsonPath, csvPath string) ([]deal.InvoiceRow, error) {
	path := jsonPath
	if csvPath != "" {
		path = csvPath
	}
	b, err := readInput(path)
	if err != nil {
		return nil, err
	}
	var rows []deal.InvoiceRow
	if csvPath != "" {
		rows, err = deal.ParseInvoicesCSV(bytes.NewReader(b))
	} else {
		rows, err = deal.ParseInvoicesJSON(b)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

// printInvoiceOutcomes answers each row on its own line, then the totals;
// any refused row, or one whose answer never came, makes the command fail.
func printInvoiceOutcomes(w io.Writer, out []workflows.InvoiceOutcome) error {
	counts := map[string]int{}
	for _, o := range out {
		counts[o.Status]++
		fmt.Fprintf(w, "row %d (deal %s, invoice %s): %s\n", o.Row, orNone(o.DealID), orNone(o.InvoiceID), outcomeText(o.Status, o.Reason))
	}
	fmt.Fprintf(w, "%d rows: %d accepted, %d duplicate, %d refused, %d unknown\n",
		len(out), counts[deal.Accepted], counts[deal.Duplicate], counts[deal.Refused], counts[workflows.OutcomeUnknown])
	if counts[deal.Refused]+counts[workflows.OutcomeUnknown] > 0 {
		return errRefused
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
