package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"dealflow/report/reporttest"
)

// TestWorkedExamples computes every figure of the five signs on the worked
// examples of docs/warning-signs.md and checks it against the figure the
// document states. Change one only with the other.
func TestWorkedExamples(t *testing.T) {
	recs, err := reporttest.WorkedRecords()
	if err != nil {
		t.Fatal(err)
	}
	rep := Build(recs, Options{Now: reporttest.WorkedNow, CorrectionFiles: reporttest.WorkedCorrectionFiles})
	if len(rep.Deals) != 4 || len(rep.Flags) != 1 || rep.Flags[0].AE != "U_ANA" || rep.CloseLagDays != 10 {
		t.Fatalf("deals %d, flags %+v, close lag %d", len(rep.Deals), rep.Flags, rep.CloseLagDays)
	}
	deals := map[string]DealSigns{}
	for _, d := range rep.Deals {
		deals[d.DealID] = d
	}
	// Per deal: sign 1 questions in the first 30 days and answer hours;
	// sign 2 change orders and late commitments; sign 3 invoice lag and the
	// alert's timing; sign 5 the shadow share.
	for id, want := range map[string]string{
		"w-ana-1": "q=2 h=[4 48] open=0 co=[co1] late=[c9] lag=14 alerts=[14/15.6/17] untraced=[W1-1] shadow=2/4=50 files=1",
		"w-ana-2": "q=2 h=[2 3] open=1 co=[] late=[] lag=2 alerts=[3/16.6/19] untraced=[] shadow=0/4=0 files=0",
		"w-ana-3": "q=0 h=[] open=0 co=[co1] late=[] lag=1 alerts=[1/2.6/35] untraced=[W3-1] shadow=1/3=33.3 files=0",
		"w-ben-1": "q=1 h=[1] open=0 co=[] late=[] lag=1 alerts=[1/2.6/26] untraced=[W4-1] shadow=1/3=33.3 files=0",
	} {
		d := deals[id]
		var alerts []string
		for _, a := range d.Alerts {
			alerts = append(alerts, fmt.Sprintf("%s/%s/%s", a.DaysFromInvoice, a.ProjectDay, a.DaysBeforeMonthlyClose))
		}
		got := fmt.Sprintf("q=%d h=%v open=%d co=%v late=%v lag=%s alerts=%v untraced=%v shadow=%d/%d=%s files=%d",
			d.QuestionsFirstDays, d.AnswerHours, d.Unanswered, d.ChangeOrdersFirstDays, d.CommitmentsAfterClose, show(d.AvgInvoiceLagDays),
			alerts, d.UntracedInvoices, d.ShadowLines, d.ShadowOf, show(d.ShadowPct), d.CorrectionFiles)
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", id, got, want)
		}
	}
	people := map[string]Person{}
	for _, p := range append(rep.ByAE, rep.ByPM...) {
		people[p.Person] = p
	}
	for who, want := range map[string]string{
		"U_ANA": "deals=3 q/deal=1.33 median=3.5 open=1 kickoff=3+2+1=6 lag=5.7 alerts=3 from=6 before=23.7 pts=11.33 shadow=3/11=27.3 files=1 flagged=true trend=[- -8 10 12]",
		"U_BEN": "deals=1 q/deal=1 median=1 open=0 kickoff=1+0+0=1 lag=1 alerts=1 from=1 before=26 pts=-10 shadow=1/3=33.3 files=0 flagged=false trend=[- - - -10]",
		"U_PIA": "deals=2 q/deal=2 median=3.5 open=1 kickoff=2+1+1=4 lag=8 alerts=2 from=8.5 before=18 pts=14 shadow=2/8=25 files=1 flagged=false trend=[]",
		"U_OLA": "deals=2 q/deal=0.5 median=1 open=0 kickoff=2+1+0=3 lag=1 alerts=2 from=1 before=30.5 pts=-2 shadow=2/6=33.3 files=0 flagged=false trend=[]",
	} {
		p := people[who]
		var trend []string
		for _, q := range p.PtsByQuarter {
			trend = append(trend, show(q.Value))
		}
		got := fmt.Sprintf("deals=%d q/deal=%s median=%s open=%d kickoff=%d+%d+%d=%d lag=%s alerts=%d from=%s before=%s pts=%s shadow=%d/%d=%s files=%d flagged=%t trend=%v",
			len(p.Deals), show(p.QuestionsPerDeal), show(p.MedianAnswerHours), p.UnansweredQuestions, p.ScopeAmbiguities, p.ChangeOrdersFirstDays,
			p.CommitmentsAfterClose, p.KickoffScope, show(p.AvgInvoiceLagDays), p.Alerts, show(p.AvgAlertDaysFromInvoice), show(p.AvgDaysBeforeMonthlyClose),
			show(p.AvgPtsBelowTarget), p.ShadowLines, p.ShadowOf, show(p.ShadowPct), p.CorrectionFiles, p.Flagged, trend)
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", who, got, want)
		}
	}
	// The trends: each sign by quarter of the close, over every deal won
	// in 2026 (w-ana-0 included, though outside the 90-day window).
	for i, want := range []string{"[- 3 2 1]", "[- 1 3 1.33]", "[- 6 14 1.7]", "[- -8 10 4.67]", "[- 33.3 50 20]"} {
		var got []string
		for _, q := range rep.Trends[i].Quarters {
			got = append(got, show(q.Value))
		}
		if fmt.Sprint(got) != want || rep.Trends[i].Quarters[0].Quarter != "2026-Q1" {
			t.Errorf("sign %d trend %v, want %s", i+1, got, want)
		}
	}
}

func show(d *decimal.Decimal) string {
	if d == nil {
		return "-"
	}
	return d.String()
}

// TestWorkedCSVAndText: the CSV has a row per AE and PM with the figures
// the page shows, and the text prints the five signs and their trends.
func TestWorkedCSVAndText(t *testing.T) {
	recs, err := reporttest.WorkedRecords()
	if err != nil {
		t.Fatal(err)
	}
	rep := Build(recs, Options{Now: reporttest.WorkedNow, CorrectionFiles: reporttest.WorkedCorrectionFiles})
	rep.Names = map[string]string{"U_ANA": "=Ana"}
	var b strings.Builder
	if err := WriteCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "role,person,name,deals,1_questions_per_deal,") ||
		lines[1] != "ae,U_ANA,'=Ana,3,1.33,3.5,1,3,2,1,6,5.7,3,6.0,23.7,11.33,true,27.3,1" {
		t.Fatalf("CSV:\n%s", b.String())
	}
	b.Reset()
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The five warning signs", "4. Points below target (pts):  2026-Q1 -  2026-Q2 -8.00  2026-Q3 10.00  2026-Q4 4.67"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}
