package deal

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// InvoiceRow is one invoice of a finance file: the deal it belongs to and
// the signal to send, or why the row cannot be read. A bad row never stops
// the rows after it.
type InvoiceRow struct {
	Row     int           // 1-based; for CSV the header is row 0
	DealID  string        // empty when the row has none
	Invoice InvoiceSignal // valid only when Err is nil
	Err     error
}

// invoiceLine is an invoice with its deal, as finance sends it in JSON.
type invoiceLine struct {
	DealID string `json:"deal_id"`
	InvoiceSignal
}

// ParseInvoicesJSON reads one JSON invoice object or an array of them. It
// fails as a whole only when the body is not a JSON object or array.
func ParseInvoicesJSON(body []byte) ([]InvoiceRow, error) {
	// A byte-order mark says the file is UTF-8, which it must be anyway.
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\ufeff")))
	var items []json.RawMessage
	switch {
	case len(body) > 0 && body[0] == '{':
		if !json.Valid(body) {
			return nil, errors.New("body is not valid JSON: expected one invoice object or an array of them")
		}
		items = []json.RawMessage{body}
	case len(body) > 0 && body[0] == '[':
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, fmt.Errorf("body is not a JSON array of invoices: %w", err)
		}
	default:
		return nil, errors.New("body must be one JSON invoice object or an array of them")
	}
	rows := make([]InvoiceRow, 0, len(items))
	for i, raw := range items {
		row := InvoiceRow{Row: i + 1}
		var line invoiceLine
		err := CheckInput("finance", raw)
		if err == nil {
			err = json.Unmarshal(raw, &line)
		}
		if err != nil {
			row.Err = err
			// Keep what can be read for the answer, such as the deal id.
			var loose struct {
				DealID    string `json:"deal_id"`
				InvoiceID string `json:"invoice_id"`
			}
			_ = json.Unmarshal(raw, &loose)
			row.DealID, row.Invoice.InvoiceID = loose.DealID, loose.InvoiceID
		} else {
			row.DealID, row.Invoice = line.DealID, line.InvoiceSignal
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// csvColumns are the columns an accounting export must or may have.
var csvColumns = []string{"deal_id", "invoice_id", "category", "amount", "currency", "date", "supplier", "memo", "fx_rate", "credit"}

var requiredCSV = []string{"deal_id", "invoice_id", "category", "amount", "currency", "date"}

// ParseInvoicesCSV reads an accounting export: a header row naming the
// columns (any order, case-insensitive), then one invoice a row. It fails
// as a whole only when the header is missing a required column.
func ParseInvoicesCSV(r io.Reader) ([]InvoiceRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(csvColumns, name) {
			return nil, fmt.Errorf("CSV header has unknown column %q; columns are %s", h, strings.Join(csvColumns, ", "))
		}
		if _, twice := col[name]; twice {
			// Taking either copy would be a guess, and a second deal_id
			// would send the row to another deal.
			return nil, fmt.Errorf("CSV header names the column %s twice (columns %d and %d)", name, col[name]+1, i+1)
		}
		col[name] = i
	}
	var missing []string
	for _, c := range requiredCSV {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("CSV header lacks required column(s) %s", strings.Join(missing, ", "))
	}
	var rows []InvoiceRow
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		row := InvoiceRow{Row: n}
		var perr *csv.ParseError
		if err != nil && !errors.As(err, &perr) {
			// A failing reader fails again on every call; only a bad line
			// is skipped.
			return nil, fmt.Errorf("reading the CSV: %w", err)
		}
		if err != nil && perr.StartLine != perr.Line {
			// An unclosed quote swallows the lines after it, so the rows
			// that follow cannot be trusted: the file is refused whole
			// (nothing has been sent yet).
			return nil, fmt.Errorf("CSV line %d opens a quote that is never closed (the parser ran on to line %d); fix the file and send it again", perr.StartLine, perr.Line)
		}
		if err != nil {
			row.Err = fmt.Errorf("unreadable CSV line: %w", err)
			rows = append(rows, row)
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		row.DealID, row.Invoice.InvoiceID = get("deal_id"), get("invoice_id")
		row.Err = checkCells(get)
		if row.Err == nil {
			row.Invoice, row.Err = csvInvoice(get)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// checkCells checks a row's cells by the rules of the same fields in
// JSON; cells are taken as written, spaces included.
func checkCells(get func(string) string) error {
	for _, c := range csvColumns {
		if err := CheckCell(c, get(c)); err != nil {
			return err
		}
	}
	return nil
}

func csvInvoice(get func(string) string) (InvoiceSignal, error) {
	s := InvoiceSignal{InvoiceID: get("invoice_id"), Category: get("category"), Currency: get("currency"),
		Supplier: get("supplier"), Memo: get("memo")}
	amount, err := decimal.NewFromString(get("amount"))
	if err != nil {
		return s, fmt.Errorf("amount %q is not a decimal number", get("amount"))
	}
	s.Amount = amount
	if s.Date, err = ParseDate(get("date")); err != nil {
		return s, fmt.Errorf("date: %w", err)
	}
	if v := get("fx_rate"); v != "" {
		fx, err := decimal.NewFromString(v)
		if err != nil {
			return s, fmt.Errorf("fx_rate %q is not a decimal number", v)
		}
		s.FXRate = &fx
	}
	if v := get("credit"); v != "" {
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return s, fmt.Errorf("credit %q must be true or false", v)
		}
		s.Credit = b
	}
	return s, nil
}
