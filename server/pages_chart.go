package server

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/db/dbq"
)

// marginChart is the forecast margin over the snapshots as an inline SVG
// drawn on the server: no script, and it prints. It spans the card (the
// viewBox scales to the page's width), puts each check at its time on a
// time axis, and shades where the margin is at risk and off track, so a
// reader sees how close to a threshold the forecast runs.
type marginChart struct {
	Width, Height      int
	Left, Right        int // the plot's x bounds
	Top, Bottom        int // the plot's y bounds
	Forecast           string
	Target             string
	Points             []chartPoint
	YTicks             []chartTick
	XTicks             []chartTick
	TargetLabel        chartLabel
	WarnBand, CritBand chartBand
}

type chartPoint struct {
	X, Y  string
	Label string
}

// chartTick is a gridline with its label; Sub is a second line under a time
// tick, the date where it changes on an axis of hours.
type chartTick struct {
	At    string
	Label string
	Sub   string
}

type chartLabel struct {
	X, Y string
	Text string
}

// chartBand is a shaded strip from Y down by H.
type chartBand struct {
	Y, H  string
	Label chartLabel
}

const (
	chartW, chartH                       = 1100, 260
	padLeft, padRight, padTop, padBottom = 56, 120, 14, 40
)

// newMarginChart draws snaps (oldest first). warn and crit are the deal's
// thresholds in points below target; the bands use the latest target.
func newMarginChart(snaps []dbq.MarginSnapshot, warn, crit decimal.Decimal) *marginChart {
	if len(snaps) == 0 {
		return nil
	}
	last := snaps[len(snaps)-1]
	warnAt, critAt := last.TargetMarginPct.Sub(warn), last.TargetMarginPct.Sub(crit)

	// The y range holds every forecast, the target and the off-track band
	// at least as tall as the at-risk one, so both bands always show, then
	// widens to whole steps.
	lo, hi := critAt.Sub(crit.Sub(warn).Abs()), last.TargetMarginPct
	for _, s := range snaps {
		for _, v := range []decimal.Decimal{s.ForecastMarginPct, s.TargetMarginPct} {
			lo, hi = decimal.Min(lo, v), decimal.Max(hi, v)
		}
	}
	step := niceStep(hi.Sub(lo), 5)
	lo = lo.Div(step).Floor().Mul(step)
	hi = hi.Div(step).Ceil().Mul(step)
	if hi.Equal(lo) {
		hi = lo.Add(step)
	}

	from, to := snaps[0].TakenAt.UTC(), last.TakenAt.UTC()
	if to.Sub(from) < time.Minute {
		// One check (or a burst of them): centre it in an hour.
		from, to = from.Add(-30*time.Minute), to.Add(30*time.Minute)
	}

	c := &marginChart{Width: chartW, Height: chartH, Left: padLeft, Right: chartW - padRight, Top: padTop, Bottom: chartH - padBottom}
	plotW, plotH := float64(c.Right-c.Left), float64(c.Bottom-c.Top)
	loF, hiF := lo.InexactFloat64(), hi.InexactFloat64()
	x := func(t time.Time) float64 {
		return float64(c.Left) + plotW*float64(t.Sub(from))/float64(to.Sub(from))
	}
	y := func(v decimal.Decimal) float64 {
		return float64(c.Top) + plotH*(hiF-v.InexactFloat64())/(hiF-loF)
	}
	px := func(f float64) string { return fmt.Sprintf("%.1f", f) }

	var fc, tg []string
	for _, s := range snaps {
		sx, sy := px(x(s.TakenAt)), px(y(s.ForecastMarginPct))
		fc = append(fc, sx+","+sy)
		tg = append(tg, sx+","+px(y(s.TargetMarginPct)))
		c.Points = append(c.Points, chartPoint{X: sx, Y: sy, Label: fmt.Sprintf("check %d, %s: forecast %s%% against target %s%% (%s)",
			s.Seq, when(s.TakenAt), s.ForecastMarginPct.StringFixed(2), s.TargetMarginPct.StringFixed(2), s.Status)})
	}
	if len(snaps) == 1 {
		// A lone target point would draw nothing: run it across the plot.
		ty := px(y(last.TargetMarginPct))
		tg = []string{px(float64(c.Left)) + "," + ty, px(float64(c.Right)) + "," + ty}
	}
	c.Forecast, c.Target = strings.Join(fc, " "), strings.Join(tg, " ")
	labelX := px(float64(c.Right) + 6)
	c.TargetLabel = chartLabel{X: labelX, Y: tg[len(tg)-1][strings.Index(tg[len(tg)-1], ",")+1:],
		Text: "target " + last.TargetMarginPct.String() + "%"}

	bottom := float64(c.Bottom)
	yw, yc := math.Min(y(warnAt), bottom), math.Min(y(critAt), bottom)
	c.WarnBand = chartBand{Y: px(yw), H: px(yc - yw),
		Label: chartLabel{X: labelX, Y: px((yw + yc) / 2), Text: "at risk: > " + warn.String() + " pts under"}}
	c.CritBand = chartBand{Y: px(yc), H: px(bottom - yc),
		Label: chartLabel{X: labelX, Y: px((yc + bottom) / 2), Text: "off track: > " + crit.String() + " pts under"}}

	for v := lo; v.LessThanOrEqual(hi); v = v.Add(step) {
		c.YTicks = append(c.YTicks, chartTick{At: px(y(v)), Label: v.String() + "%"})
	}
	for _, tk := range timeTicks(from, to, 8) {
		c.XTicks = append(c.XTicks, chartTick{At: px(x(tk.at)), Label: tk.label, Sub: tk.sub})
	}
	return c
}

// niceStep is the 1, 2 or 5 times a power of ten that cuts span into about
// n steps, so the axis reads 0%, 10%, 20% and not 19%, 61%.
func niceStep(span decimal.Decimal, n int64) decimal.Decimal {
	if !span.IsPositive() {
		return decimal.NewFromInt(1)
	}
	raw := span.Div(decimal.NewFromInt(n))
	exp := int32(math.Floor(math.Log10(raw.InexactFloat64())))
	pow := decimal.New(1, exp)
	for _, m := range []int64{1, 2, 5, 10} {
		if s := pow.Mul(decimal.NewFromInt(m)); s.GreaterThanOrEqual(raw) {
			return s
		}
	}
	return pow.Mul(decimal.NewFromInt(10))
}

type timeTick struct {
	at         time.Time
	label, sub string
}

// timeSteps are the tick spacings a reader expects, shortest first; months
// are handled apart because they differ in length.
var timeSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour}

// timeTicks puts at most about max ticks on round instants between from and
// to (UTC): minutes or hours labelled 15:04 with the date under the first
// and wherever the day changes, days labelled by date, or month starts.
func timeTicks(from, to time.Time, max int) []timeTick {
	span := to.Sub(from)
	var out []timeTick
	for _, step := range timeSteps {
		if span/step > time.Duration(max) {
			continue
		}
		lastDay := ""
		for t := from.Truncate(step); !t.After(to); t = t.Add(step) {
			if t.Before(from) {
				continue
			}
			tk := timeTick{at: t, label: t.Format("2006-01-02")}
			if step < 24*time.Hour {
				tk.label = t.Format("15:04")
				if day := t.Format("2006-01-02"); day != lastDay {
					tk.sub, lastDay = day, day
				}
			}
			out = append(out, tk)
		}
		return out
	}
	// Months: the first of every k-th month.
	months := int(span.Hours()/24/30) + 1
	k := 1
	for _, m := range []int{1, 2, 3, 6, 12} {
		if k = m; months/m <= max {
			break
		}
	}
	for t := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); !t.After(to); t = t.AddDate(0, k, 0) {
		if !t.Before(from) {
			out = append(out, timeTick{at: t, label: t.Format("2006-01-02")})
		}
	}
	return out
}
