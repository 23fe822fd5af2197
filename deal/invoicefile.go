package deal

import (
	"bufio"
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

// FileLimits bound what a finance file may hold, so a file is read as a
// stream and a hostile one stops at the limit instead of filling memory.
// Zero means no limit.
type FileLimits struct {
	// MaxRows is the most invoice rows a file may have.
	MaxRows int
	// MaxLine is the longest line of a CSV file, in bytes.
	MaxLine int
}

// TooLargeError is a file past one of its FileLimits; its text says the
// limit in words.
type TooLargeError struct{ What string }

func (e *TooLargeError) Error() string { return e.What }

func tooManyRows(max int) error {
	return &TooLargeError{What: fmt.Sprintf("the file has more than %s rows, the most one file may have; split it into files of at most %s rows", thousands(max), thousands(max))}
}

// thousands writes n with commas: 100000 is "100,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ParseInvoicesJSON reads one JSON invoice object or an array of them. It
// fails as a whole only when the body is not a JSON object or array.
func ParseInvoicesJSON(body []byte) ([]InvoiceRow, error) {
	return ReadInvoicesJSON(bytes.NewReader(body), FileLimits{})
}

// ReadInvoicesJSON is ParseInvoicesJSON on a stream: the array is decoded
// one invoice at a time, and past lim.MaxRows it stops with a
// *TooLargeError.
func ReadInvoicesJSON(r io.Reader, lim FileLimits) ([]InvoiceRow, error) {
	br := bufio.NewReader(r)
	// A byte-order mark says the file is UTF-8, which it must be anyway.
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	first, err := firstByte(br)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(br)
	var items []json.RawMessage
	rows := []InvoiceRow{}
	add := func(raw json.RawMessage) {
		rows = append(rows, invoiceRowJSON(len(rows)+1, raw))
	}
	switch first {
	case '{':
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errors.New("body is not valid JSON: expected one invoice object or an array of them")
		}
		items = append(items, raw)
		if err := atEnd(dec); err != nil {
			return nil, errors.New("body is not valid JSON: expected one invoice object or an array of them")
		}
		add(items[0])
		return rows, nil
	case '[':
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("body is not a JSON array of invoices: %w", err)
		}
		for dec.More() {
			if lim.MaxRows > 0 && len(rows) >= lim.MaxRows {
				return nil, tooManyRows(lim.MaxRows)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("body is not a JSON array of invoices: %w", err)
			}
			add(raw)
		}
		if t, err := dec.Token(); err != nil || t != json.Delim(']') {
			return nil, fmt.Errorf("body is not a JSON array of invoices: %v", orText(err, "the array is not closed"))
		}
		if err := atEnd(dec); err != nil {
			return nil, fmt.Errorf("body is not a JSON array of invoices: %w", err)
		}
		return rows, nil
	}
	return nil, errors.New("body must be one JSON invoice object or an array of them")
}

// firstByte is the first byte after white space, left unread; 0 for an
// empty body. A reader's failure (a body over its limit) is returned.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if !strings.ContainsRune(" \t\r\n", rune(b[0])) {
			return b[0], nil
		}
		_, _ = br.Discard(1)
	}
}

// atEnd wants nothing but white space after the value.
func atEnd(dec *json.Decoder) error {
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return orText(err, "text follows the value")
	}
	return nil
}

func orText(err error, text string) error {
	if err != nil {
		return err
	}
	return errors.New(text)
}

func invoiceRowJSON(n int, raw json.RawMessage) InvoiceRow {
	row := InvoiceRow{Row: n}
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
	return row
}

// csvColumns are the columns an accounting export must or may have.
var csvColumns = []string{"deal_id", "invoice_id", "category", "amount", "currency", "date", "supplier", "memo", "fx_rate", "credit"}

var requiredCSV = []string{"deal_id", "invoice_id", "category", "amount", "currency", "date"}

// ParseInvoicesCSV reads an accounting export: a header row naming the
// columns (any order, case-insensitive), then one invoice a row. It fails
// as a whole only when the header is missing a required column.
func ParseInvoicesCSV(r io.Reader) ([]InvoiceRow, error) {
	return ReadInvoicesCSV(r, FileLimits{})
}

// ReadInvoicesCSV is ParseInvoicesCSV within lim: past lim.MaxRows rows,
// or on a line longer than lim.MaxLine, it stops with a *TooLargeError.
func ReadInvoicesCSV(r io.Reader, lim FileLimits) ([]InvoiceRow, error) {
	if lim.MaxLine > 0 {
		r = &lineLimit{r: r, max: lim.MaxLine}
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
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
		var tooLarge *TooLargeError
		if errors.As(err, &tooLarge) {
			return nil, tooLarge
		}
		if lim.MaxRows > 0 && n > lim.MaxRows {
			return nil, tooManyRows(lim.MaxRows)
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

// lineLimit fails a read once a line runs past max bytes: one line of a
// million empty cells would otherwise be a million strings at once.
type lineLimit struct {
	r    io.Reader
	max  int
	line int
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.line = 0
			continue
		}
		if l.line++; l.line > l.max {
			return 0, &TooLargeError{What: fmt.Sprintf("a line of the file is longer than %s bytes, the most one line may have", thousands(l.max))}
		}
	}
	return n, err
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
