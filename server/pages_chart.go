package server

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"dealflow/db/dbq"
)

// marginChart is the forecast margin over the snapshots as an inline SVG
// drawn on the server: no script, and it prints. Coordinates are computed
// in decimal like every other figure and only turned into text at the end.
type marginChart struct {
	Width, Height int
	Forecast      string // polyline points
	Target        string // polyline points
	Points        []chartPoint
	Ticks         []chartTick
	FirstDay      string
	LastDay       string
	Left, Right   int // the plot's x bounds, for the axis labels
}

type chartPoint struct {
	X, Y  string
	Label string
}

type chartTick struct {
	Y     string
	Label string
}

const (
	chartW, chartH                       = 640, 200
	padLeft, padRight, padTop, padBottom = 52, 16, 12, 28
)

func newMarginChart(snaps []dbq.MarginSnapshot) *marginChart {
	if len(snaps) == 0 {
		return nil
	}
	// The y range covers the forecast and the target with a little room,
	// so a flat line still reads as a line and not as the frame.
	lo, hi := snaps[0].ForecastMarginPct, snaps[0].ForecastMarginPct
	for _, s := range snaps {
		for _, v := range []decimal.Decimal{s.ForecastMarginPct, s.TargetMarginPct} {
			lo, hi = decimal.Min(lo, v), decimal.Max(hi, v)
		}
	}
	room := decimal.Max(hi.Sub(lo).Div(decimal.NewFromInt(10)), decimal.NewFromInt(2))
	lo, hi = lo.Sub(room).Floor(), hi.Add(room).Ceil()

	c := &marginChart{Width: chartW, Height: chartH, Left: padLeft, Right: chartW - padRight,
		FirstDay: dayOf(snaps[0].TakenAt), LastDay: dayOf(snaps[len(snaps)-1].TakenAt)}
	plotW := decimal.NewFromInt(chartW - padLeft - padRight)
	plotH := decimal.NewFromInt(chartH - padTop - padBottom)
	x := func(i int) decimal.Decimal {
		if len(snaps) == 1 {
			return decimal.NewFromInt(padLeft).Add(plotW.Div(decimal.NewFromInt(2)))
		}
		return decimal.NewFromInt(padLeft).Add(plotW.Mul(decimal.NewFromInt(int64(i))).Div(decimal.NewFromInt(int64(len(snaps) - 1))))
	}
	y := func(v decimal.Decimal) decimal.Decimal {
		return decimal.NewFromInt(padTop).Add(hi.Sub(v).Mul(plotH).Div(hi.Sub(lo)))
	}
	var fc, tg []string
	for i, s := range snaps {
		px, py := x(i).StringFixed(1), y(s.ForecastMarginPct).StringFixed(1)
		fc = append(fc, px+","+py)
		tg = append(tg, px+","+y(s.TargetMarginPct).StringFixed(1))
		c.Points = append(c.Points, chartPoint{X: px, Y: py, Label: fmt.Sprintf("check %d, %s: forecast %s%% against target %s%% (%s)",
			s.Seq, when(s.TakenAt), s.ForecastMarginPct.StringFixed(2), s.TargetMarginPct.StringFixed(2), s.Status)})
	}
	c.Forecast, c.Target = strings.Join(fc, " "), strings.Join(tg, " ")
	for _, v := range []decimal.Decimal{hi, lo.Add(hi).Div(decimal.NewFromInt(2)).Round(0), lo} {
		c.Ticks = append(c.Ticks, chartTick{Y: y(v).StringFixed(1), Label: v.String() + "%"})
	}
	return c
}
