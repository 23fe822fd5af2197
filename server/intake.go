package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"dealflow/deal"
	"dealflow/intake"
	"dealflow/metrics"
	"dealflow/workflows"
)

// The limits of one finance file, stated in the README: a month's export
// of 100,000 rows is about 13 MiB. A file is read as a stream and stops at
// the first limit it passes with 413 saying the limit, so a hostile file
// costs no more memory than the largest one accepted.
const (
	maxIntakeBody = 32 << 20
	// MaxIntakeRows is the most rows of one file.
	MaxIntakeRows = 100_000
	// maxIntakeLine bounds one CSV line (a row is a few hundred bytes).
	maxIntakeLine = 64 << 10
)

var intakeLimits = deal.FileLimits{MaxRows: MaxIntakeRows, MaxLine: maxIntakeLine}

func jsonRows(r io.Reader) ([]deal.InvoiceRow, error) { return deal.ReadInvoicesJSON(r, intakeLimits) }
func csvRows(r io.Reader) ([]deal.InvoiceRow, error)  { return deal.ReadInvoicesCSV(r, intakeLimits) }

// IntakeAnswer is what finance gets back: one outcome per row, in the
// order of the file, and the counts for a quick look.
type IntakeAnswer struct {
	Accepted  int                        `json:"accepted"`
	Duplicate int                        `json:"duplicate"`
	Refused   int                        `json:"refused"`
	Unknown   int                        `json:"unknown"`
	Rows      []workflows.InvoiceOutcome `json:"rows"`
}

// Finance's invoice intake (routes.go; both need "Authorization: Bearer
// $FINANCE_API_TOKEN", and without a token configured the routes do not
// exist: an endpoint that takes money must never be open by accident):
//
//	POST /api/invoices      one JSON invoice with its deal_id, or an array
//	POST /api/invoices.csv  an accounting export: header row, one invoice a row

// JobAccepted is the 202 answer for a file taken as a job.
type JobAccepted struct {
	JobID     string `json:"job_id"`
	Rows      int    `json:"rows"`
	StatusURL string `json:"status_url"`
}

// intakeJob answers a job's counts and its rows' answers, a page at a time
// (?after=ROW&page=N; at most 100,000 rows a page).
func (s *Server) intakeJob(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		intakeError(w, http.StatusNotFound, "no such intake job")
		return
	}
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	job, err := intake.GetJob(r.Context(), s.Store, id, after, page)
	switch {
	case errors.Is(err, intake.ErrNoJob):
		intakeError(w, http.StatusNotFound, "no intake job "+id)
	case err != nil:
		s.log.Error("reading an intake job", "job", id, "error", err)
		intakeError(w, http.StatusInternalServerError, "reading the job failed; ask again")
	default:
		intakeJSON(w, http.StatusOK, job)
	}
}

// intake parses the body as it arrives into rows, checks each row, sends
// the good ones to their deals and answers every row. Only a body that
// cannot be read at all, or passes a limit, fails as a whole; a bad row is
// refused on its own.
func (s *Server) intake(parse func(io.Reader) ([]deal.InvoiceRow, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rows, err := parse(http.MaxBytesReader(w, r.Body, maxIntakeBody))
		var tooBig *http.MaxBytesError
		var tooLarge *deal.TooLargeError
		switch {
		case errors.As(err, &tooBig):
			intakeError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("the file is larger than %d MiB, the most one file may be; split it (at most %d,%03d rows a file)",
					maxIntakeBody>>20, MaxIntakeRows/1000, MaxIntakeRows%1000))
			return
		case errors.As(err, &tooLarge):
			intakeError(w, http.StatusRequestEntityTooLarge, tooLarge.Error())
			return
		case err != nil:
			intakeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if len(rows) > intake.SyncRows {
			id, err := intake.StartJob(r.Context(), s.Store, s.Client, s.cfg.TaskQueue, r.URL.Path, rows)
			if err != nil {
				s.log.Error("starting an intake job", "rows", len(rows), "error", err)
				intakeError(w, http.StatusServiceUnavailable, "the file could not be stored; nothing was taken: send it again")
				return
			}
			s.log.Info("finance intake job started", "job", id, "rows", len(rows))
			intakeJSON(w, http.StatusAccepted, JobAccepted{JobID: id, Rows: len(rows), StatusURL: "/api/invoices/jobs/" + id})
			return
		}
		out := intake.Submit(r.Context(), s.Store, s.Client, rows, "")
		ans := IntakeAnswer{Rows: out}
		for _, o := range out {
			metrics.IntakeRow(o.Status)
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

// sweepEvery is how often the intake sweeper looks for jobs left without a
// workflow (intake.Sweep); one worker of the firm sweeps at a time.
var sweepEvery = time.Minute

// startSweeper starts the intake sweeper, which Stop ends.
func (s *Server) startSweeper() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		intake.RunSweeper(ctx, s.Store, s.Client, s.cfg.TaskQueue, sweepEvery, s.log)
	}()
	s.stopSweeper = func() { cancel(); <-done }
}
