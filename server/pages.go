package server

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"dealflow/db"
	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/report"
)

// The pages are server-rendered from embedded templates: no front-end
// build, nothing to deploy but the worker binary.
//
//go:embed templates/*.html templates/pages.css
var templateFS embed.FS

// pageTemplates holds one template set per page, each with the shared layout.
var pageTemplates = func() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range []string{"deals", "deal", "report", "error", "link"} {
		pages[name] = template.Must(template.New("layout.html").Funcs(pageFuncs).
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}()

// The deal pages and the early-warning report (routes.go) read PostgreSQL
// (the record the activities wrote), never a workflow query per row, so a
// long list costs the database and not Temporal. The stylesheet is the
// same for everyone and holds no deal data, so it loads without a
// credential.
func servePagesCSS(w http.ResponseWriter, _ *http.Request) {
	b, _ := templateFS.ReadFile("templates/pages.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(b)
}

// dealsPage lists deals, filtered by client, AE, PM and stage, with a
// client's workstreams together.
func (s *Server) dealsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := dealFilter{Client: q.Get("client"), AE: q.Get("ae"), PM: q.Get("pm"), Stage: q.Get("stage")}
	for _, v := range []string{f.Client, f.AE, f.PM} {
		// PostgreSQL would fail the query on these, not match nothing.
		if len(v) > maxPathID || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			s.errorPage(w, http.StatusBadRequest, "a filter value is not text a deal could hold")
			return
		}
	}
	if f.Stage != "" && !slices.Contains(deal.Stages, deal.Stage(f.Stage)) {
		s.errorPage(w, http.StatusBadRequest, fmt.Sprintf("unknown stage %q; stages are %s", f.Stage, stageList()))
		return
	}
	queries := s.Store.Queries()
	rows, err := queries.ListDeals(r.Context(), dbq.ListDealsParams{Client: f.Client, Ae: f.AE, Pm: f.PM, Stage: f.Stage})
	if err != nil {
		s.serverError(w, "listing deals", err)
		return
	}
	opts, err := queries.ListDealFilterOptions(r.Context())
	if err != nil {
		s.serverError(w, "listing filter values", err)
		return
	}
	// The options hold every AE and PM, so those of the rows too.
	names := s.names(r, append(slices.Clone(opts.Aes), opts.Pms...))
	s.render(w, "deals", names, dealsView{Filter: f, Options: opts, Stages: deal.Stages, Clients: groupByClient(rows), Count: len(rows)})
}

// dealPage is one deal on one screen: what the AE, PM and GM all need.
func (s *Server) dealPage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "deal_id")
	if !ok {
		s.noSuchDeal(w)
		return
	}
	rec, err := s.Store.LoadRecord(r.Context(), id)
	if errors.Is(err, db.ErrNotFound) {
		s.errorPage(w, http.StatusNotFound, fmt.Sprintf("no deal %q in the record; a deal just opened appears within seconds", id))
		return
	}
	if err != nil {
		s.serverError(w, "reading deal "+id, err)
		return
	}
	snaps, err := s.Store.Queries().ListMarginSnapshots(r.Context(), id)
	if err != nil {
		s.serverError(w, "reading margin snapshots of "+id, err)
		return
	}
	v := newDealView(rec, snaps)
	if s.links != nil {
		links, err := s.Store.Queries().ListClientLinks(r.Context(), id)
		if err != nil {
			s.serverError(w, "reading client links of "+id, err)
			return
		}
		v.ClientLinks, v.Links, v.Used = true, linkViews(links, time.Now()), usedLinks(links)
	}
	s.render(w, "deal", s.names(r, recordPeople(rec)), v)
}

// reportPage is the early-warning report; ?days= sets its window and
// ?format=json gives the same figures as `starter report --json`.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) {
	lag, err := report.CloseLagDaysFromEnv()
	if err != nil {
		s.serverError(w, "reading the report's settings", err)
		return
	}
	o := report.Options{Now: time.Now().UTC(), CloseLagDays: lag}
	// as_of reads the report as it stood at a past moment (the worked
	// examples of docs/warning-signs.md are read at theirs).
	if v := r.URL.Query().Get("as_of"); v != "" {
		at, err := time.Parse(time.RFC3339, v)
		if err != nil || at.After(o.Now) {
			s.errorPage(w, http.StatusBadRequest, fmt.Sprintf("as_of must be a past time such as 2026-12-01T12:00:00Z, not %q", v))
			return
		}
		o.Now = at.UTC()
	}
	if v := r.URL.Query().Get("days"); v != "" {
		d, err := strconv.Atoi(v)
		if err != nil || d < 1 || d > 3660 {
			s.errorPage(w, http.StatusBadRequest, fmt.Sprintf("days must be a whole number of days from 1 to 3660, not %q", v))
			return
		}
		o.Days = d
	}
	rep, err := report.Load(r.Context(), s.Store, o)
	if err != nil {
		s.serverError(w, "building the report", err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		_ = writeJSON(w, rep)
		return
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="warning-signs.csv"`)
		_ = report.WriteCSV(w, rep)
		return
	}
	s.render(w, "report", rep.Names, reportView{Report: rep, Definitions: report.Definitions, PatternDeals: report.PatternDeals,
		Charts: signCharts(rep.Trends)})
}

// names reads the cached names of people on a page. The page is worth more
// than the names: if the cache cannot be read it shows ids, and says why in
// the log.
func (s *Server) names(r *http.Request, ids []string) deal.Names {
	names, err := s.Store.Names(r.Context(), ids)
	if err != nil {
		s.log.Warn("deal pages: people's names not read, showing user ids", "error", err)
	}
	return names
}

// render executes a page into a buffer first, so a template error is a
// clean 500 and never half a page. People appear by the names given.
func (s *Server) render(w http.ResponseWriter, page string, names deal.Names, data any) {
	t, err := pageTemplates[page].Clone()
	if err != nil {
		s.serverError(w, "rendering "+page, err)
		return
	}
	t.Funcs(template.FuncMap{"person": names.Show})
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		s.serverError(w, "rendering "+page, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// noSuchDeal answers a path naming no deal without echoing the id back: it
// may be huge or not even text.
func (s *Server) noSuchDeal(w http.ResponseWriter) {
	s.errorPage(w, http.StatusNotFound, "no such deal")
}

func (s *Server) errorPage(w http.ResponseWriter, code int, msg string) {
	var buf bytes.Buffer
	if err := pageTemplates["error"].Execute(&buf, errorView{Code: code, Status: http.StatusText(code), Message: msg}); err != nil {
		http.Error(w, msg, code)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}

// serverError logs the cause and shows a page that does not leak it.
func (s *Server) serverError(w http.ResponseWriter, what string, err error) {
	s.log.Error("deal pages: "+what, "error", err)
	s.errorPage(w, http.StatusInternalServerError, what+" failed; the worker's log has the cause")
}

func stageList() string {
	names := make([]string, len(deal.Stages))
	for i, st := range deal.Stages {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}
