package server

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/db/dbq"
)

func snap(seq int64, at time.Time, forecast, target string) dbq.MarginSnapshot {
	return dbq.MarginSnapshot{Seq: seq, TakenAt: at, ForecastMarginPct: decimal.RequireFromString(forecast),
		TargetMarginPct: decimal.RequireFromString(target), Status: "on_track"}
}

func labels(ticks []chartTick) []string {
	var out []string
	for _, tk := range ticks {
		out = append(out, tk.Label)
	}
	return out
}

func TestNiceStep(t *testing.T) {
	for span, want := range map[string]string{"85": "20", "100": "20", "12": "5", "3": "1", "0.7": "0.2", "450": "100", "0": "1"} {
		if got := niceStep(decimal.RequireFromString(span), 5); got.String() != want {
			t.Errorf("niceStep(%s) = %s, want %s", span, got, want)
		}
	}
}

// TestMarginChartAxes: the y axis has round ticks covering the forecast,
// the target and the off-track band; the x axis has dates where the checks
// span days and clock times (dated once) where they span hours; the target
// line is labelled with its value.
func TestMarginChartAxes(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	w, c := decimal.NewFromInt(3), decimal.NewFromInt(8)

	// The figures of the issue: a forecast from 61% down to -24% against 30%.
	days := newMarginChart([]dbq.MarginSnapshot{snap(1, day.Add(9*time.Hour), "61", "30"), snap(2, day.AddDate(0, 0, 5), "19", "30"),
		snap(3, day.AddDate(0, 0, 12).Add(15*time.Hour), "-24", "30")}, w, c)
	if got, want := labels(days.YTicks), []string{"-40%", "-20%", "0%", "20%", "40%", "60%", "80%"}; !reflect.DeepEqual(got, want) {
		t.Errorf("y ticks %v, want %v", got, want)
	}
	if got, want := labels(days.XTicks), []string{"2026-03-04", "2026-03-06", "2026-03-08", "2026-03-10", "2026-03-12", "2026-03-14"}; !reflect.DeepEqual(got, want) {
		t.Errorf("x ticks %v, want %v", got, want)
	}
	if days.TargetLabel.Text != "target 30%" {
		t.Errorf("target label %q", days.TargetLabel.Text)
	}
	// Checks sit at their time: the second 111 hours into a 294-hour span,
	// 56 + 924 * 111 / 294 px.
	if x := days.Points[1].X; x != "404.9" {
		t.Errorf("second check at x=%s, want 404.9 (proportional to its time)", x)
	}
	// The bands: at risk from 27% down to 22%, off track below that.
	yw, yc := decimal.RequireFromString(days.WarnBand.Y), decimal.RequireFromString(days.CritBand.Y)
	if !yw.LessThan(yc) || days.CritBand.H == "0.0" || !strings.Contains(days.WarnBand.Label.Text, "> 3 pts") || !strings.Contains(days.CritBand.Label.Text, "> 8 pts") {
		t.Errorf("bands warn %+v crit %+v", days.WarnBand, days.CritBand)
	}

	// Checks of one afternoon: clock times, the date under the first.
	hours := newMarginChart([]dbq.MarginSnapshot{snap(1, day.Add(14*time.Hour+3*time.Minute), "31", "30"),
		snap(2, day.Add(16*time.Hour+50*time.Minute), "29.5", "30")}, w, c)
	if got, want := labels(hours.XTicks), []string{"14:30", "15:00", "15:30", "16:00", "16:30"}; !reflect.DeepEqual(got, want) {
		t.Errorf("x ticks %v, want %v", got, want)
	}
	if hours.XTicks[0].Sub != "2026-03-02" || hours.XTicks[1].Sub != "" {
		t.Errorf("the date is not under the first clock tick alone: %+v", hours.XTicks)
	}
	if got, want := labels(hours.YTicks), []string{"15%", "20%", "25%", "30%", "35%"}; !reflect.DeepEqual(got, want) {
		t.Errorf("y ticks %v, want %v", got, want)
	}

	// A single check still has an axis and a target line across the plot.
	one := newMarginChart([]dbq.MarginSnapshot{snap(1, day.Add(10*time.Hour), "30", "30")}, w, c)
	if len(one.XTicks) < 2 || strings.Count(one.Target, ",") != 2 {
		t.Errorf("single check: x ticks %v, target %q", labels(one.XTicks), one.Target)
	}

	// Months apart: month starts.
	months := newMarginChart([]dbq.MarginSnapshot{snap(1, day, "30", "30"), snap(2, day.AddDate(0, 5, 0), "25", "30")}, w, c)
	if got, want := labels(months.XTicks), []string{"2026-04-01", "2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01"}; !reflect.DeepEqual(got, want) {
		t.Errorf("x ticks %v, want %v", got, want)
	}
}
