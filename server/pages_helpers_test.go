package server

import (
	"context"
	"dealflow/deal/dealtest"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"dealflow/workflows"
)

// get fetches a page as a script with the test servers' dashboard token
// (unless header carries its own Authorization) and returns its status
// and body.
func get(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testDashboardToken)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitForRecord waits until PostgreSQL holds the version of the deal the
// workflow holds now, and all its margin snapshots, so a page shows what
// the workflow answers.
func waitForRecord(t *testing.T, s *Server, dealID string) {
	t.Helper()
	ctx := context.Background()
	want, err := workflows.Record(ctx, s.Client, dealID)
	if err != nil {
		t.Fatal(err)
	}
	dealtest.Eventually(t, "deal "+dealID+" to be written to PostgreSQL", func() bool {
		r, err := s.Store.LoadRecord(ctx, dealID)
		if err != nil || r.Version < want.Deal.Version {
			return false
		}
		var snaps int64
		err = s.Pool.QueryRow(ctx, "SELECT count(*) FROM margin_snapshots WHERE deal_id = $1", dealID).Scan(&snaps)
		return err == nil && snaps >= want.Deal.MarginChecks
	})
}

func TestPageHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	securityHeaders(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/deals", nil))
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Referrer-Policy") != "same-origin" ||
		rec.Header().Get("Content-Security-Policy") != pageCSP {
		t.Fatalf("headers %v", rec.Header())
	}
}
