package server

import (
	"fmt"

	"github.com/shopspring/decimal"

	"dealflow/report"
)

// signChart is one warning sign's quarterly trend as a small inline SVG
// bar chart, drawn on the server like the deal page's margin chart: no
// script, and it prints. Bars go up from a zero line, or down for a
// negative figure (points above target); a quarter with nothing to count
// shows "–" instead of a bar.
type signChart struct {
	Sign        int
	Name, Unit  string
	Width       int
	Height      int
	ZeroY       string
	Bars        []signBar
	Left, Right int
}

type signBar struct {
	X, Y, W, H   string
	LabelX       string
	ValueY       string
	Value, Label string
	Deals        int
	Negative     bool
	Empty        bool
}

const (
	signW, signH   = 320, 150
	signTop        = 18
	signBottom     = 108 // the plot's floor; a negative value's label goes under it
	signPad, signG = 12, 14
)

func signCharts(ts []report.Trend) []signChart {
	var out []signChart
	for _, t := range ts {
		out = append(out, newSignChart(t))
	}
	return out
}

func newSignChart(t report.Trend) signChart {
	c := signChart{Sign: t.Sign, Name: t.Name, Unit: t.Unit, Width: signW, Height: signH, Left: signPad, Right: signW - signPad}
	hi, lo := decimal.Zero, decimal.Zero
	for _, q := range t.Quarters {
		if q.Value != nil {
			hi, lo = decimal.Max(hi, *q.Value), decimal.Min(lo, *q.Value)
		}
	}
	span := hi.Sub(lo)
	if span.IsZero() {
		span = decimal.NewFromInt(1)
	}
	plot := float64(signBottom - signTop)
	scale := func(d decimal.Decimal) float64 { return d.Div(span).InexactFloat64() * plot }
	zero := float64(signTop) + scale(hi)
	c.ZeroY = f1(zero)
	n := len(t.Quarters)
	slot := float64(signW-2*signPad) / float64(max(n, 1))
	for i, q := range t.Quarters {
		x := float64(signPad) + float64(i)*slot
		b := signBar{X: f1(x + signG/2), W: f1(slot - signG), LabelX: f1(x + slot/2), Label: q.Quarter, Deals: q.Deals}
		if q.Value == nil {
			b.Empty, b.Value, b.Y, b.H, b.ValueY = true, "–", f1(zero), "0", f1(zero-4)
		} else {
			h := scale(q.Value.Abs())
			b.Value = q.Value.String()
			if q.Value.IsNegative() {
				b.Negative, b.Y, b.ValueY = true, f1(zero), f1(zero+h+11)
			} else {
				b.Y, b.ValueY = f1(zero-h), f1(zero-h-4)
			}
			b.H = f1(max(h, 1))
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
