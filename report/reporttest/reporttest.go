// Package reporttest builds won deals in pure code, through the same
// deal.Open and Apply the workflow runs, for the tests of the early-warning
// report: the report's own, the deal pages' and the starter's.
package reporttest

import (
	"bytes"
	"fmt"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// AsPeople rewrites dealtest's steps for a deal whose AE and PM are not
// the fixture's: the fixtures name dealtest.AE and dealtest.PM as senders,
// and only a deal's own people may send.
func AsPeople(steps []dealtest.Step, ae, pm string) []dealtest.Step {
	out := make([]dealtest.Step, len(steps))
	for i, s := range steps {
		p := bytes.ReplaceAll(s.Payload, []byte(`"`+dealtest.AE+`"`), []byte(`"`+ae+`"`))
		p = bytes.ReplaceAll(p, []byte(`"`+dealtest.PM+`"`), []byte(`"`+pm+`"`))
		out[i] = dealtest.Step{Signal: s.Signal, Payload: p}
	}
	return out
}

// Delivered is dealtest's 100,000 EUR deal at a 30% target, won at closedAt
// by ae and handed over by pm a day later, then billed the costs (category
// to amount, in deal.InvoiceCategories order) and reported pctComplete.
// Its forecast margin is 100 - costs*100/pctComplete/1000 percent.
func Delivered(id, ae, pm string, closedAt time.Time, costs map[string]string, pctComplete string) (*deal.Record, error) {
	t := dealtest.Terms(id, closedAt)
	t.People.AE, t.People.PM = ae, pm
	at := closedAt.Add(-time.Duration(len(dealtest.ToClosing())+1) * time.Minute)
	d, err := dealtest.Open(t, at)
	if err != nil {
		return nil, err
	}
	apply := func(when time.Time, steps ...dealtest.Step) error {
		for _, s := range AsPeople(steps, ae, pm) {
			if res := d.Send(when, s.Signal, s.Payload); res.Status != deal.Accepted {
				return fmt.Errorf("deal %s: %s %s: %s %s", id, s.Signal, s.Payload, res.Status, res.Reason)
			}
		}
		return nil
	}
	for _, s := range dealtest.ToClosing() {
		at = at.Add(time.Minute)
		if err := apply(at, s); err != nil {
			return nil, err
		}
	}
	if err := apply(closedAt, dealtest.Won()); err != nil {
		return nil, err
	}
	delivered := closedAt.Add(24 * time.Hour)
	if err := apply(delivered, dealtest.Handover()); err != nil {
		return nil, err
	}
	for i, c := range deal.InvoiceCategories {
		if amount, ok := costs[c]; ok {
			inv := dealtest.Invoice(fmt.Sprintf("%s-INV-%d", id, i+1), c, amount, closedAt.Format("2006-01-02"))
			if err := apply(delivered.Add(time.Hour), inv); err != nil {
				return nil, err
			}
		}
	}
	if err := apply(delivered.Add(2*time.Hour), dealtest.Progress(pctComplete)); err != nil {
		return nil, err
	}
	return d.Record, nil
}

// Drifting is a deal 14 points under its 30% target, subcontractors
// taking most of the cost: 42,000 spent at half way forecasts 16%.
func Drifting(id, ae, pm string, closedAt time.Time) (*deal.Record, error) {
	return Delivered(id, ae, pm, closedAt, map[string]string{"subcontractor": "40000", "travel": "2000"}, "50")
}

// Healthy is a deal 10 points over its 30% target: 30,000 spent at half
// way forecasts 40%.
func Healthy(id, ae, pm string, closedAt time.Time) (*deal.Record, error) {
	return Delivered(id, ae, pm, closedAt, map[string]string{"subcontractor": "30000"}, "50")
}
