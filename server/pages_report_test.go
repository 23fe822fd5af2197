package server

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/report"
	"dealflow/report/reporttest"
)

// TestHandoverReport seeds PostgreSQL with three drifting deals for one AE
// and two healthy ones for another, written the way the activities write
// them, and checks the report page flags exactly the first AE.
func TestHandoverReport(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	now := time.Now().UTC()
	var recs []*deal.Record
	add := func(r *deal.Record, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	add(reporttest.Drifting("drift-1", "U_AE_DRIFT", "U_PM_ONE", now.AddDate(0, 0, -60)))
	add(reporttest.Drifting("drift-2", "U_AE_DRIFT", "U_PM_ONE", now.AddDate(0, 0, -40)))
	add(reporttest.Drifting("drift-3", "U_AE_DRIFT", "U_PM_TWO", now.AddDate(0, 0, -20)))
	add(reporttest.Healthy("ok-1", "U_AE_FINE", "U_PM_TWO", now.AddDate(0, 0, -50)))
	add(reporttest.Healthy("ok-2", "U_AE_FINE", "U_PM_TWO", now.AddDate(0, 0, -10)))
	for _, r := range recs {
		if err := s.Store.ImportRecord(ctx, r, nil, "seed-"+r.Terms.DealID); err != nil {
			t.Fatal(err)
		}
	}
	base := "http://" + s.Addr

	code, body := get(t, base+"/reports/handover", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /reports/handover: %d %s", code, body)
	}
	if n := strings.Count(body, "data-flagged-ae="); n != 1 || !strings.Contains(body, `data-flagged-ae="U_AE_DRIFT"`) {
		t.Fatalf("the page flags %d AEs, want U_AE_DRIFT alone:\n%s", n, body)
	}
	for _, want := range []string{`data-person="U_AE_FINE"`, `data-person="U_PM_TWO"`, "Commitments outside the deliverables", `href="/deals/drift-3"`,
		// Drift is worded one way only: points below target, negative when above.
		"Avg pts below target", "Points below target"} {
		if !strings.Contains(body, want) {
			t.Errorf("report page lacks %q", want)
		}
	}

	code, body = get(t, base+"/reports/handover?format=json", nil)
	if code != http.StatusOK {
		t.Fatalf("JSON report: %d %s", code, body)
	}
	if !strings.Contains(body, `"avg_pts_below_target"`) || !strings.Contains(body, `"pts_below_target"`) {
		t.Errorf("the JSON report does not name its drift figures pts_below_target:\n%s", body)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Flags) != 1 || rep.Flags[0].AE != "U_AE_DRIFT" || rep.Flags[0].Category != "subcontractor" {
		t.Fatalf("flags %+v, want U_AE_DRIFT on subcontractor", rep.Flags)
	}
	var flagged []string
	for _, d := range rep.Flags[0].Deals {
		flagged = append(flagged, d.DealID)
	}
	if want := []string{"drift-3", "drift-2", "drift-1"}; !reflect.DeepEqual(flagged, want) {
		t.Errorf("flagged deals %v, want %v", flagged, want)
	}
	if len(rep.ByAE) != 2 || rep.ByAE[0].Person != "U_AE_DRIFT" || rep.ByAE[0].AvgPtsBelowTarget.String() != "14" ||
		rep.ByAE[1].Person != "U_AE_FINE" || rep.ByAE[1].AvgPtsBelowTarget.String() != "-10" || rep.ByAE[1].Flagged {
		t.Errorf("by AE %+v", rep.ByAE)
	}

	// In a 30-day window the drifting AE has one deal: no flag.
	if code, body := get(t, base+"/reports/handover?days=30", nil); code != http.StatusOK || !strings.Contains(body, `id="no-flags"`) {
		t.Errorf("30-day window: %d, want 200 and no flag", code)
	}
	if code, body := get(t, base+"/reports/handover?days=soon", nil); code != http.StatusBadRequest || !strings.Contains(body, "days must be") {
		t.Errorf("bad days: %d %s", code, body)
	}
}
