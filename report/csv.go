package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// signColumns are the five signs' figures per person, as the CSV and the
// text print them; the HTML page shows the same.
var signColumns = []struct {
	head  string
	value func(p Person) string
}{
	{"deals", func(p Person) string { return strconv.Itoa(len(p.Deals)) }},
	{"1_questions_per_deal", func(p Person) string { return fixed(p.QuestionsPerDeal, 2) }},
	{"1_median_answer_hours", func(p Person) string { return fixed(p.MedianAnswerHours, 1) }},
	{"1_unanswered", func(p Person) string { return strconv.Itoa(p.UnansweredQuestions) }},
	{"2_scope_ambiguities", func(p Person) string { return strconv.Itoa(p.ScopeAmbiguities) }},
	{"2_change_orders_first_30_days", func(p Person) string { return strconv.Itoa(p.ChangeOrdersFirstDays) }},
	{"2_commitments_after_close", func(p Person) string { return strconv.Itoa(p.CommitmentsAfterClose) }},
	{"2_kickoff_scope", func(p Person) string { return strconv.Itoa(p.KickoffScope) }},
	{"3_avg_invoice_lag_days", func(p Person) string { return fixed(p.AvgInvoiceLagDays, 1) }},
	{"3_alerts", func(p Person) string { return strconv.Itoa(p.Alerts) }},
	{"3_avg_days_invoice_to_alert", func(p Person) string { return fixed(p.AvgAlertDaysFromInvoice, 1) }},
	{"3_avg_days_before_monthly_close", func(p Person) string { return fixed(p.AvgDaysBeforeMonthlyClose, 1) }},
	{"4_avg_pts_below_target", func(p Person) string { return fixed(p.AvgPtsBelowTarget, 2) }},
	{"4_flagged", func(p Person) string { return strconv.FormatBool(p.Flagged) }},
	{"5_shadow_pct", func(p Person) string { return fixed(p.ShadowPct, 1) }},
	{"5_correction_files", func(p Person) string { return strconv.Itoa(p.CorrectionFiles) }},
}

// WriteCSV writes the five signs per person, one row per AE and PM; an
// empty figure is "-" as on the page.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	head := []string{"role", "person", "name"}
	for _, c := range signColumns {
		head = append(head, c.head)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, g := range []struct {
		role   string
		people []Person
	}{{"ae", r.ByAE}, {"pm", r.ByPM}} {
		for _, p := range g.people {
			row := []string{g.role, p.Person, csvSafe(r.Names[p.Person])}
			for _, c := range signColumns {
				row = append(row, c.value(p))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a name as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// CloseLagDaysFromEnv reads finance's close lag (DEALFLOW_CLOSE_LAG_DAYS,
// whole days from 1 to 60; unset is DefaultCloseLagDays).
func CloseLagDaysFromEnv() (int, error) {
	v := os.Getenv("DEALFLOW_CLOSE_LAG_DAYS")
	if v == "" {
		return DefaultCloseLagDays, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 60 {
		return 0, fmt.Errorf("DEALFLOW_CLOSE_LAG_DAYS must be whole days from 1 to 60, not %q", v)
	}
	return n, nil
}
