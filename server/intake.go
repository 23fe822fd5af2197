package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"dealflow/deal"
	"dealflow/workflows"
)

// maxIntakeBody bounds one finance upload. A month of invoices from an
// accounting export is a few hundred kilobytes; anything near this is a
// mistake (or an attack), not a file to read into memory.
const maxIntakeBody = 5 << 20

// IntakeAnswer is what finance gets back: one outcome per row, in the
// order of the file, and the counts for a quick look.
type IntakeAnswer struct {
	Accepted  int                        `json:"accepted"`
	Duplicate int                        `json:"duplicate"`
	Refused   int                        `json:"refused"`
	Unknown   int                        `json:"unknown"`
	Rows      []workflows.InvoiceOutcome `json:"rows"`
}

// mountIntake serves finance's invoice intake:
//
//	POST /api/invoices      one JSON invoice with its deal_id, or an array
//	POST /api/invoices.csv  an accounting export: header row, one invoice a row
//
// Both need "Authorization: Bearer $FINANCE_API_TOKEN". Without a token
// configured the routes do not exist (404): an endpoint that takes money
// must never be open by accident.
func (s *Server) mountIntake(mux *http.ServeMux) {
	if s.cfg.FinanceToken == "" {
		return
	}
	mux.Handle("POST /api/invoices", s.financeOnly(s.intake(func(body []byte) ([]deal.InvoiceRow, error) {
		return deal.ParseInvoicesJSON(body)
	})))
	mux.Handle("POST /api/invoices.csv", s.financeOnly(s.intake(func(body []byte) ([]deal.InvoiceRow, error) {
		return deal.ParseInvoicesCSV(bytes.NewReader(body))
	})))
}

// financeOnly lets a request through only with the finance bearer token.
// Both sides are hashed first so the comparison takes the same time
// whatever the length of the guess.
func (s *Server) financeOnly(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.cfg.FinanceToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		// The scheme is case-insensitive (RFC 7235); the token is not.
		ok := len(h) > len("Bearer ") && strings.EqualFold(h[:len("Bearer ")], "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(h[min(len(h), len("Bearer ")):])))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dealflow finance intake"`)
			intakeError(w, http.StatusUnauthorized, "missing or wrong bearer token (Authorization: Bearer $FINANCE_API_TOKEN)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// intake reads the whole body, parses it into rows, checks each row, sends
// the good ones to their deals and answers every row. Only a body that
// cannot be read at all fails as a whole; a bad row is refused on its own.
func (s *Server) intake(parse func([]byte) ([]deal.InvoiceRow, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIntakeBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			intakeError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("body is larger than %d MiB; split the file", maxIntakeBody>>20))
			return
		case err != nil:
			intakeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
			return
		}
		rows, err := parse(body)
		if err != nil {
			intakeError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.checkInvoiceRows(r, rows)
		out := workflows.SubmitInvoices(r.Context(), s.Client, rows)
		ans := IntakeAnswer{Rows: out}
		for _, o := range out {
			switch o.Status {
			case deal.Accepted:
				ans.Accepted++
			case deal.Duplicate:
				ans.Duplicate++
			case workflows.OutcomeUnknown:
				ans.Unknown++
			default:
				ans.Refused++
			}
		}
		s.log.Info("finance intake", "path", r.URL.Path, "rows", len(out),
			"accepted", ans.Accepted, "duplicate", ans.Duplicate, "refused", ans.Refused, "unknown", ans.Unknown)
		intakeJSON(w, http.StatusOK, ans)
	})
}

// checkInvoiceRows refuses, before anything is sent, the rows the deal
// would refuse anyway (zero or absurd amounts, a missing fx_rate...): the
// check needs only the deal's currency. What depends on the deal's state
// (an invoice id already taken) or on the deal existing is left to the
// deal itself, so there is one answer for those.
func (s *Server) checkInvoiceRows(r *http.Request, rows []deal.InvoiceRow) {
	currency := map[string]string{} // deal id -> currency; "" when unknown
	for i := range rows {
		row := &rows[i]
		if row.Err != nil {
			continue
		}
		cur, seen := currency[row.DealID]
		if !seen {
			if rec, err := workflows.Record(r.Context(), s.Client, row.DealID); err == nil {
				cur = rec.Terms.Currency
			}
			currency[row.DealID] = cur
		}
		if cur == "" {
			continue
		}
		if _, err := deal.NewInvoice(row.Invoice, cur); err != nil {
			row.Err = err
		}
	}
}

func intakeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func intakeError(w http.ResponseWriter, code int, msg string) {
	intakeJSON(w, code, map[string]string{"error": msg})
}
