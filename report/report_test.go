package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/report/reporttest"
)

var now = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// won is a won deal whose handover was signed off a day after the close,
// with the given drift (target 30, so forecast is 30 - drift) and costs.
type won struct {
	id, ae, pm string
	daysAgo    int
	drift      string // "" keeps the handover open
	costs      map[string]string
	warn       string
}

func (w won) record() *deal.Record {
	closed := now.AddDate(0, 0, -w.daysAgo)
	pm := w.pm
	if pm == "" {
		pm = "U_PM"
	}
	r := &deal.Record{Terms: deal.Terms{DealID: w.id, Client: "Globex", Workstream: "WS " + w.id, Currency: "EUR",
		TargetMarginPct: dec("30"), People: deal.People{AE: w.ae, PM: pm}},
		Stage: deal.Handover, Close: &deal.Close{Outcome: "won", At: closed}}
	if w.warn != "" {
		v := dec(w.warn)
		r.Terms.MarginWarnPts = &v
	}
	r.Handover = &deal.HandoverTicket{PM: pm, Status: "open", OpenedAt: closed}
	if w.drift == "" {
		return r
	}
	at := closed.Add(24 * time.Hour)
	r.Stage, r.BaseStage = deal.InProgress, deal.InProgress
	r.Handover.Status, r.Handover.SignedOffAt = "signed_off", &at
	r.Margin = deal.Margin{TargetMarginPct: dec("30"), DriftPts: dec(w.drift), ForecastMarginPct: dec("30").Sub(dec(w.drift))}
	for _, c := range deal.InvoiceCategories {
		if a, ok := w.costs[c]; ok {
			r.Margin.CostByCategory = append(r.Margin.CostByCategory, deal.CategoryCost{Category: c, Amount: dec(a)})
		}
	}
	return r
}

func signsOf(ws ...won) []DealSigns {
	var out []DealSigns
	for _, w := range ws {
		out = append(out, Signs(w.record(), Options{}))
	}
	return out
}

var subco = map[string]string{"subcontractor": "50000", "travel": "3000"}

func TestDriftPattern(t *testing.T) {
	travel := map[string]string{"subcontractor": "1000", "travel": "3000"}
	cases := []struct {
		name  string
		deals []won
		want  []string // flagged deal ids, newest first; nil for no flag
	}{
		{"three under target, same category", []won{{id: "a", daysAgo: 30, drift: "12", costs: subco}, {id: "b", daysAgo: 20, drift: "5", costs: subco}, {id: "c", daysAgo: 10, drift: "9", costs: subco}}, []string{"c", "b", "a"}},
		{"only two deals", []won{{id: "a", daysAgo: 30, drift: "12", costs: subco}, {id: "b", daysAgo: 20, drift: "12", costs: subco}}, nil},
		{"newest is healthy", []won{{id: "a", daysAgo: 30, drift: "12", costs: subco}, {id: "b", daysAgo: 20, drift: "12", costs: subco}, {id: "c", daysAgo: 25, drift: "12", costs: subco}, {id: "d", daysAgo: 5, drift: "-2", costs: subco}}, nil},
		{"oldest is healthy, last three drift", []won{{id: "a", daysAgo: 60, drift: "0", costs: subco}, {id: "b", daysAgo: 20, drift: "12", costs: subco}, {id: "c", daysAgo: 15, drift: "4", costs: subco}, {id: "d", daysAgo: 5, drift: "20", costs: subco}}, []string{"d", "c", "b"}},
		{"different top categories", []won{{id: "a", daysAgo: 30, drift: "12", costs: subco}, {id: "b", daysAgo: 20, drift: "12", costs: travel}, {id: "c", daysAgo: 10, drift: "12", costs: subco}}, nil},
		{"all above target", []won{{id: "a", daysAgo: 30, drift: "-12", costs: subco}, {id: "b", daysAgo: 20, drift: "-12", costs: subco}, {id: "c", daysAgo: 10, drift: "-12", costs: subco}}, nil},
		{"drift at the threshold is not over it", []won{{id: "a", daysAgo: 30, drift: "3", costs: subco}, {id: "b", daysAgo: 20, drift: "12", costs: subco}, {id: "c", daysAgo: 10, drift: "12", costs: subco}}, nil},
		{"the deal's own threshold counts", []won{{id: "a", daysAgo: 30, drift: "5", warn: "6", costs: subco}, {id: "b", daysAgo: 20, drift: "12", costs: subco}, {id: "c", daysAgo: 10, drift: "12", costs: subco}}, nil},
		{"no cost yet", []won{{id: "a", daysAgo: 30, drift: "12"}, {id: "b", daysAgo: 20, drift: "12"}, {id: "c", daysAgo: 10, drift: "12"}}, nil},
		{"a handover still open is skipped", []won{{id: "a", daysAgo: 30, drift: "12", costs: subco}, {id: "b", daysAgo: 20, drift: "12", costs: subco}, {id: "c", daysAgo: 10, drift: "12", costs: subco}, {id: "d", daysAgo: 1}}, []string{"c", "b", "a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := range c.deals {
				c.deals[i].ae = "U_A"
			}
			f, ok := DriftPattern("U_A", signsOf(c.deals...))
			if ok != (c.want != nil) {
				t.Fatalf("flagged = %v, want %v", ok, c.want != nil)
			}
			if !ok {
				return
			}
			var got []string
			for _, d := range f.Deals {
				got = append(got, d.DealID)
			}
			if !reflect.DeepEqual(got, c.want) || f.Category != "subcontractor" || f.AE != "U_A" {
				t.Fatalf("flag %s %s on %v, want U_A subcontractor on %v", f.AE, f.Category, got, c.want)
			}
		})
	}
}

// TestSignsOfARealRecord walks a deal through the protocol with the shared
// fixtures and reads its signs.
func TestSignsOfARealRecord(t *testing.T) {
	t0 := now.AddDate(0, 0, -40)
	d, err := dealtest.Open(dealtest.Terms("r1", t0), t0)
	if err != nil {
		t.Fatal(err)
	}
	at := t0
	apply := func(steps ...dealtest.Step) {
		t.Helper()
		for _, s := range steps {
			at = at.Add(time.Hour)
			if res := d.Send(at, s.Signal, s.Payload); res.Status != deal.Accepted {
				t.Fatalf("%s %s: %s %s", s.Signal, s.Payload, res.Status, res.Reason)
			}
		}
	}
	co := func(id string) dealtest.Step {
		return dealtest.Step{Signal: deal.SigChangeOrder, Payload: dealtest.JSON(map[string]string{"id": id, "amount": "5000",
			"planned_cost": "4000", "status": "pending", "by": dealtest.PM})}
	}
	apply(dealtest.ToClosing()...)
	apply(dealtest.Won())
	closed := at
	apply(co("CO-before"))
	at = at.Add(60 * time.Hour) // the handover takes two and a half days plus the hour of the step before
	apply(dealtest.Handover(), co("CO-1"), dealtest.Invoice("I1", "travel", "9000", "2026-05-01"),
		dealtest.Invoice("I2", "subcontractor", "8000", "2026-05-02"), dealtest.Progress("10"))

	// The signs are read from the record PostgreSQL would hold after these
	// signals, as the report reads it.
	s := Signs(d.Record, Options{})
	if !s.ClosedAt.Equal(closed) || s.AE != dealtest.AE || s.PM != dealtest.PM {
		t.Fatalf("deal %+v", s)
	}
	if want := []string{"data retention period"}; !reflect.DeepEqual(s.ScopeAmbiguities, want) {
		t.Errorf("scope ambiguities %v, want %v", s.ScopeAmbiguities, want)
	}
	// The fixture's deliverables ("discovery deliverable"…) mention neither
	// commitment.
	if want := []string{"c1", "c2"}; !reflect.DeepEqual(s.CommitmentsOutsideDeliverables, want) {
		t.Errorf("commitments outside deliverables %v, want %v", s.CommitmentsOutsideDeliverables, want)
	}
	if want := []string{"CO-1"}; !reflect.DeepEqual(s.ChangeOrdersAfterHandover, want) {
		t.Errorf("change orders after handover %v, want %v", s.ChangeOrdersAfterHandover, want)
	}
	if s.DaysToSignoff == nil || s.DaysToSignoff.String() != "2.6" {
		t.Errorf("days to sign-off %v, want 2.6 (62 hours)", s.DaysToSignoff)
	}
	// 17000 spent at 10% complete: EAC 170000 on 100000, forecast -70%,
	// 100 points under the 30% target.
	if s.PtsBelowTarget == nil || s.PtsBelowTarget.String() != "100" || s.ForecastMarginPct.String() != "-70" {
		t.Errorf("drift %v forecast %v, want 100 and -70", s.PtsBelowTarget, s.ForecastMarginPct)
	}
	if s.TopCostCategory != "travel" || !s.DriftedUnder() {
		t.Errorf("top category %q drifted under %v, want travel and true", s.TopCostCategory, s.DriftedUnder())
	}
}

func TestOutsideDeliverables(t *testing.T) {
	r := &deal.Record{
		Tickets: []deal.Ticket{
			{ID: "scoping", Deliverable: &deal.Deliverable{Body: "In scope: portal. See C1 and c10-extra. SAP EWM INTEGRATION included."}},
			{ID: "pricing", Deliverable: &deal.Deliverable{URL: "https://docs.example.com/pricing#c4"}},
			{ID: "proposal"}, // not approved: no deliverable
		},
		Commitments: []deal.Commitment{
			{ID: "c1", Text: "10% off phase 2"},              // mentioned by id, any case
			{ID: "c10", Text: "weekly demo"},                 // "c10-extra" is another word
			{ID: "c2", Text: "SAP EWM integration included"}, // mentioned by text
			{ID: "c3", Text: "go-live before March"},         // nowhere
			{ID: "c4", Text: "free training"},                // in a URL
			{ID: "c", Text: "unrelated"},                     // a one-letter id is not in "c10-extra"
		},
	}
	if got, want := outsideDeliverables(r), []string{"c10", "c3", "c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outside deliverables %v, want %v", got, want)
	}
}

func TestBuild(t *testing.T) {
	var recs []*deal.Record
	for _, w := range []won{
		{id: "a1", ae: "U_A", pm: "U_P1", daysAgo: 50, drift: "10", costs: subco},
		{id: "a2", ae: "U_A", pm: "U_P1", daysAgo: 40, drift: "11", costs: subco},
		{id: "a3", ae: "U_A", pm: "U_P2", daysAgo: 30, drift: "12", costs: subco},
		{id: "b1", ae: "U_B", pm: "U_P2", daysAgo: 20, drift: "-4", costs: subco},
		{id: "b2", ae: "U_B", pm: "U_P2", daysAgo: 10},                            // handover open
		{id: "b0", ae: "U_B", pm: "U_P2", daysAgo: 91, drift: "15", costs: subco}, // before the window
	} {
		recs = append(recs, w.record())
	}
	recs = append(recs, &deal.Record{Terms: deal.Terms{DealID: "lost", People: deal.People{AE: "U_C", PM: "U_P3"}},
		Stage: deal.ClosedLost, Close: &deal.Close{Outcome: "lost", At: now.AddDate(0, 0, -5)}})
	recs = append(recs, &deal.Record{Terms: deal.Terms{DealID: "presale", People: deal.People{AE: "U_C", PM: "U_P3"}}, Stage: deal.Scoping})

	rep := Build(recs, Options{Now: now})
	if rep.Days != DefaultDays || !rep.Since.Equal(now.AddDate(0, 0, -90)) {
		t.Fatalf("window %d days since %s", rep.Days, rep.Since)
	}
	var ids []string
	for _, d := range rep.Deals {
		ids = append(ids, d.DealID)
	}
	if want := []string{"a1", "a2", "a3", "b1", "b2"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("deals %v, want %v (won in the window, oldest first)", ids, want)
	}
	if len(rep.Flags) != 1 || rep.Flags[0].AE != "U_A" {
		t.Fatalf("flags %+v, want U_A only", rep.Flags)
	}
	type row struct {
		who               string
		deals             int
		avgDrift, avgDays string
		open              int
		flagged           bool
	}
	rows := func(ps []Person) []row {
		var out []row
		for _, p := range ps {
			out = append(out, row{p.Person, len(p.Deals), fixed(p.AvgPtsBelowTarget, 2), fixed(p.AvgDaysToSignoff, 1), p.HandoversOpen, p.Flagged})
		}
		return out
	}
	if got, want := rows(rep.ByAE), []row{{"U_A", 3, "11.00", "1.0", 0, true}, {"U_B", 2, "-4.00", "1.0", 1, false}}; !reflect.DeepEqual(got, want) {
		t.Errorf("by AE %+v, want %+v", got, want)
	}
	if got, want := rows(rep.ByPM), []row{{"U_P1", 2, "10.50", "1.0", 0, false}, {"U_P2", 3, "4.00", "1.0", 1, false}}; !reflect.DeepEqual(got, want) {
		t.Errorf("by PM %+v, want %+v", got, want)
	}

	// A shorter window leaves U_A one deal: no flag.
	if short := Build(recs, Options{Now: now, Days: 35}); len(short.Flags) != 0 || len(short.Deals) != 3 {
		t.Errorf("35-day window: %d deals, flags %+v; want 3 deals and none", len(short.Deals), short.Flags)
	}

	var text bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "avg pts below target") {
		t.Errorf("text report does not word its drift column as points below target:\n%s", text.String())
	}
	if !strings.Contains(text.String(), "FLAGGED U_A") || strings.Contains(text.String(), "FLAGGED U_B") {
		t.Errorf("text report does not flag exactly U_A:\n%s", text.String())
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Flags) != 1 || back.Flags[0].AE != "U_A" {
		t.Errorf("JSON round trip: %v %s", err, b)
	}
}

// TestFixtures checks the shared fixtures forecast what they say, walked
// through the real protocol rules, and that the report tells them apart.
func TestFixtures(t *testing.T) {
	var recs []*deal.Record
	for i, days := range []int{50, 30, 10} {
		r, err := reporttest.Drifting(fmt.Sprintf("d%d", i), "U_DRIFT", "U_PM1", now.AddDate(0, 0, -days))
		if err != nil {
			t.Fatal(err)
		}
		if r.Margin.ForecastMarginPct.String() != "16" || r.Stage != deal.Mitigation {
			t.Fatalf("drifting fixture forecasts %s%% at %s, want 16%% and mitigation (off track)", r.Margin.ForecastMarginPct, r.Stage)
		}
		recs = append(recs, r)
	}
	for i, days := range []int{40, 20} {
		r, err := reporttest.Healthy(fmt.Sprintf("h%d", i), "U_OK", "U_PM2", now.AddDate(0, 0, -days))
		if err != nil {
			t.Fatal(err)
		}
		if r.Margin.ForecastMarginPct.String() != "40" {
			t.Fatalf("healthy fixture forecasts %s%%, want 40%%", r.Margin.ForecastMarginPct)
		}
		recs = append(recs, r)
	}
	rep := Build(recs, Options{Now: now})
	if len(rep.Flags) != 1 || rep.Flags[0].AE != "U_DRIFT" || rep.Flags[0].Category != "subcontractor" {
		t.Fatalf("flags %+v, want U_DRIFT on subcontractor only", rep.Flags)
	}
	if got := rep.ByAE[0]; got.Person != "U_DRIFT" || got.AvgPtsBelowTarget.String() != "14" || got.AvgDaysToSignoff.String() != "1" ||
		got.ScopeAmbiguities != 3 || got.CommitmentsOutsideDeliverables != 6 {
		t.Fatalf("U_DRIFT row %+v", got)
	}
}

// TestClientSignoffsByWhoGaveThem counts, per AE, the client approvals the
// client gave through a link apart from those the owner recorded; refused
// ones and change requests count for neither.
func TestClientSignoffsByWhoGaveThem(t *testing.T) {
	signer := &deal.ClientSigner{Name: "Jane Doe", Email: "jane@client.com", Evidence: "ab", LinkID: "L1"}
	withSignoffs := func(w won, sos ...deal.Signoff) *deal.Record {
		r := w.record()
		r.Tickets = []deal.Ticket{{ID: "scoping", ClientSignoffRequired: true, Signoffs: sos}}
		return r
	}
	recs := []*deal.Record{
		withSignoffs(won{id: "a1", ae: "U_A", daysAgo: 10},
			deal.Signoff{Side: "internal", Decision: "approve"},
			deal.Signoff{Side: "client", Decision: "changes_requested", Client: signer},
			deal.Signoff{Side: "client", Decision: "approve", Client: signer}),
		withSignoffs(won{id: "a2", ae: "U_A", daysAgo: 5},
			deal.Signoff{Side: "client", Decision: "approve", Refused: true, Client: signer},
			deal.Signoff{Side: "client", Decision: "approve"}),
		withSignoffs(won{id: "b1", ae: "U_B", daysAgo: 5}, deal.Signoff{Side: "client", Decision: "approve"}),
	}
	rep := Build(recs, Options{Now: now})
	got := map[string][2]int{}
	for _, p := range rep.ByAE {
		got[p.Person] = [2]int{p.ClientSignoffsByClient, p.ClientSignoffsOnBehalf}
	}
	if want := map[string][2]int{"U_A": {1, 1}, "U_B": {0, 1}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("client sign-offs by client / on behalf per AE = %v, want %v", got, want)
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "client sign-offs by client / on behalf") || !strings.Contains(text.String(), "1 / 1") {
		t.Errorf("the text report lacks the client sign-offs:\n%s", text.String())
	}
}
