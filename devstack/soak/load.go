package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
	"dealflow/intake"
	"dealflow/workflows"
)

// invoice is one invoice of the load generator's ledger.
type invoice struct {
	ID, DealID, Category string
	Amount               decimal.Decimal
	Credit               bool
	Date                 string
	// Taken is set when intake answered accepted or duplicate.
	Taken bool
	// Refused holds intake's reason when it refused the invoice.
	Refused string
}

// ledger is what the load generator sent and what was answered: the end
// checks compare every deal's totals against it.
type ledger struct {
	mu   sync.Mutex
	inv  map[string]*invoice
	sent int
}

func newLedger() *ledger { return &ledger{inv: map[string]*invoice{}} }

func (l *ledger) add(v *invoice) {
	l.mu.Lock()
	l.inv[v.DealID+"/"+v.ID] = v
	l.mu.Unlock()
}

// answer records intake's answer to one row; it tells whether the row is
// settled (an unknown outcome is sent again).
func (l *ledger) answer(o workflows.InvoiceOutcome) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := l.inv[o.DealID+"/"+o.InvoiceID]
	if v == nil {
		return true
	}
	switch o.Status {
	case deal.Accepted, deal.Duplicate:
		v.Taken = true
	case workflows.OutcomeUnknown:
		return false
	default:
		v.Refused = o.Status + ": " + o.Reason
	}
	return true
}

// totals are a deal's taken invoices: how many, their sum, their ids.
func (l *ledger) totals(dealID string) (int64, decimal.Decimal, map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, sum, ids := int64(0), decimal.Zero, map[string]bool{}
	for _, v := range l.inv {
		if v.DealID == dealID && v.Taken {
			n++
			sum = sum.Add(v.signed())
			ids[v.ID] = true
		}
	}
	return n, sum, ids
}

func (l *ledger) refused() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, v := range l.inv {
		if v.Refused != "" {
			out = append(out, v.DealID+"/"+v.ID+": "+v.Refused)
		}
	}
	sort.Strings(out)
	return out
}

func (v *invoice) signed() decimal.Decimal {
	if v.Credit {
		return v.Amount.Neg()
	}
	return v.Amount
}

func (v *invoice) json() map[string]any {
	m := map[string]any{"deal_id": v.DealID, "invoice_id": v.ID, "category": v.Category, "amount": v.Amount.StringFixed(2),
		"currency": "EUR", "date": v.Date, "supplier": "Initech GmbH", "memo": "soak"}
	if v.Credit {
		m["credit"] = true
	}
	return m
}

// file is a batch of invoices sent together, by CSV or as a JSON array.
type file struct {
	rows []*invoice
	csv  bool
}

func (f file) body() ([]byte, string, string) {
	if f.csv {
		var sb strings.Builder
		sb.WriteString("deal_id,invoice_id,category,amount,currency,date,supplier,memo\n")
		for _, v := range f.rows {
			fmt.Fprintf(&sb, "%s,%s,%s,%s,EUR,%s,Initech GmbH,soak\n", v.DealID, v.ID, v.Category, v.Amount.StringFixed(2), v.Date)
		}
		return []byte(sb.String()), "/api/invoices.csv", "text/csv"
	}
	var arr []map[string]any
	for _, v := range f.rows {
		arr = append(arr, v.json())
	}
	b, _ := json.Marshal(arr)
	return b, "/api/invoices", "application/json"
}

// makeFile draws n new invoices over the deals in delivery.
func (s *soak) makeFile(n int, csv bool, deals []*dealRun) file {
	f := file{csv: csv}
	for i := 0; i < n; i++ {
		d := deals[rand.IntN(len(deals))]
		s.ledger.mu.Lock()
		s.ledger.sent++
		seq := s.ledger.sent
		s.ledger.mu.Unlock()
		v := &invoice{ID: fmt.Sprintf("INV-%06d", seq), DealID: d.ID, Category: deal.InvoiceCategories[seq%len(deal.InvoiceCategories)],
			Amount: decimal.New(int64(100+rand.IntN(900)), -2), Date: today()}
		s.ledger.add(v)
		f.rows = append(f.rows, v)
	}
	return f
}

// send sends a file until every row is settled: a file that got no answer
// (a server killed mid-upload) is sent again whole, rows answered unknown
// again on their own. Intake takes an invoice once by its id, so sending
// again never counts one twice.
func (s *soak) send(ctx context.Context, f file) error {
	for len(f.rows) > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		body, path, ct := f.body()
		code, ans, err := s.http.finance(ctx, http.MethodPost, path, ct, body)
		if err != nil {
			return err
		}
		var outcomes []workflows.InvoiceOutcome
		switch code {
		case http.StatusOK:
			var a struct {
				Rows []workflows.InvoiceOutcome `json:"rows"`
			}
			if err := json.Unmarshal(ans, &a); err != nil {
				return fmt.Errorf("intake answer: %v", err)
			}
			outcomes = a.Rows
		case http.StatusAccepted:
			var a struct {
				JobID string `json:"job_id"`
			}
			if err := json.Unmarshal(ans, &a); err != nil {
				return fmt.Errorf("intake answer: %v", err)
			}
			if outcomes, err = s.job(ctx, a.JobID); err != nil {
				return err
			}
		default:
			return fmt.Errorf("intake answered %d: %s", code, ans)
		}
		byID := map[string]*invoice{}
		for _, v := range f.rows {
			byID[v.DealID+"/"+v.ID] = v
		}
		var again []*invoice
		for _, o := range outcomes {
			if v := byID[o.DealID+"/"+o.InvoiceID]; v != nil && !s.ledger.answer(o) {
				again = append(again, v)
			}
			delete(byID, o.DealID+"/"+o.InvoiceID)
		}
		if len(byID) > 0 {
			return fmt.Errorf("intake answered %d rows of a file of %d", len(outcomes), len(f.rows))
		}
		if len(again) > 0 {
			s.count("rows answered unknown, sent again")
		}
		f.rows = again
	}
	return nil
}

// job waits for an intake job to finish and reads its answers.
func (s *soak) job(ctx context.Context, id string) ([]workflows.InvoiceOutcome, error) {
	for {
		code, ans, err := s.http.finance(ctx, http.MethodGet, "/api/invoices/jobs/"+id, "", nil)
		if err != nil {
			return nil, err
		}
		var j intake.Job
		switch {
		case code >= 500:
			// "reading the job failed; ask again": PostgreSQL was away.
			s.count("job reads answered 5xx, asked again")
			time.Sleep(time.Second)
			continue
		case code != http.StatusOK || json.Unmarshal(ans, &j) != nil:
			return nil, fmt.Errorf("job %s answered %d: %s", id, code, ans)
		}
		if j.Status == "done" {
			out := j.Answers
			for j.NextAfter > 0 {
				code, ans, err = s.http.finance(ctx, http.MethodGet, fmt.Sprintf("/api/invoices/jobs/%s?after=%d", id, j.NextAfter), "", nil)
				if err != nil {
					return nil, err
				}
				if code >= 500 {
					s.count("job reads answered 5xx, asked again")
					time.Sleep(time.Second)
					continue
				}
				j = intake.Job{}
				if code != http.StatusOK || json.Unmarshal(ans, &j) != nil {
					return nil, fmt.Errorf("job %s answered %d: %s", id, code, ans)
				}
				out = append(out, j.Answers...)
			}
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// invoices sends total invoices, paced evenly until the load stops, to
// the deals in delivery: files of 1,500 rows by CSV (answered as intake
// jobs), files of 400 rows by CSV (answered at once) and arrays of 100 by
// the JSON API, in turn.
func (s *soak) invoices(ctx context.Context, total int, until time.Time) error {
	kinds := []struct {
		n   int
		csv bool
	}{{1500, true}, {400, true}, {100, false}, {100, false}}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	sem := make(chan struct{}, 4)
	start := time.Now()
	sent := 0
	for k := 0; sent < total && ctx.Err() == nil; k++ {
		deals := s.delivered()
		if len(deals) == 0 {
			time.Sleep(time.Second)
			continue
		}
		kind := kinds[k%len(kinds)]
		n := min(kind.n, total-sent)
		// Pace: this file goes out when its share of the time has come.
		if due := start.Add(time.Duration(float64(until.Sub(start)) * float64(sent) / float64(total))); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		f := s.makeFile(n, kind.csv, deals)
		sent += n
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.send(ctx, f); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (s *soak) delivered() []*dealRun {
	var out []*dealRun
	for _, d := range s.deals {
		if d.Delivered.Load() && d.anchored.Load() {
			out = append(out, d)
		}
	}
	return out
}

func today() string { return time.Now().UTC().Format("2006-01-02") }
