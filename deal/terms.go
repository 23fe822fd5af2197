// Package deal is the handover protocol as plain data and rules: what a deal
// is, which signal may change it and how, and the margin arithmetic. It knows
// nothing of Temporal or PostgreSQL, so every rule is testable with a table.
package deal

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// People are Slack user IDs: whoever is named here is the only one whose
// sign-off counts for the tickets they own.
type People struct {
	AE              string `json:"ae"`
	Presales        string `json:"presales"`
	PricingApprover string `json:"pricing_approver"`
	PM              string `json:"pm"`
	GM              string `json:"gm"`
}

// Terms is what the deal was opened with: the start input of its workflow.
type Terms struct {
	DealID          string          `json:"deal_id"`
	Client          string          `json:"client"`
	Workstream      string          `json:"workstream"`
	Currency        string          `json:"currency"`
	ContractValue   decimal.Decimal `json:"contract_value"`
	TargetMarginPct decimal.Decimal `json:"target_margin_pct"`
	// PlannedCost defaults to ContractValue * (1 - TargetMarginPct/100).
	PlannedCost   *decimal.Decimal `json:"planned_cost,omitempty"`
	StartDate     Date             `json:"start_date"`
	EndDate       Date             `json:"end_date"`
	People        People           `json:"people"`
	ClientSignoff []string         `json:"client_signoff"`
	SlackChannel  string           `json:"slack_channel"`
	// Margin thresholds in percentage points of drift; defaults 3 and 8.
	MarginWarnPts     *decimal.Decimal `json:"margin_warn_pts,omitempty"`
	MarginCriticalPts *decimal.Decimal `json:"margin_critical_pts,omitempty"`
	// MarginCheckEvery is a Go duration ("24h", "2m"); default daily.
	MarginCheckEvery string `json:"margin_check_every,omitempty"`
	// LateCostDays is how long after the deal ends its late supplier
	// invoices and fees are still taken; default 90, 0 for none.
	LateCostDays *int `json:"late_cost_days,omitempty"`
	// ClientLinkDays is how long a link for the client's sign-off stays
	// valid; default 14.
	ClientLinkDays *int `json:"client_link_days,omitempty"`
	// TimeZone and Holidays make the deal's business days (Calendar): a
	// question to the AE is escalated after two of them.
	TimeZone string `json:"time_zone,omitempty"`
	Holidays []Date `json:"holidays,omitempty"`
}

const (
	DefaultWarnPts      = 3
	DefaultCriticalPts  = 8
	DefaultCheckEvery   = 24 * time.Hour
	DefaultLateCostDays = 90
	// DefaultClientLinkDays gives a client two working weeks to read and
	// decide; MaxClientLinkDays keeps a forgotten link from living on.
	DefaultClientLinkDays = 14
	MaxClientLinkDays     = 90
	maxIntegerDigits      = 12
	maxMoneyPlaces        = 6
	maxFXPlaces           = 10
	maxCommitmentTextSz   = 4000
)

// Normalize fills defaults and checks the terms under today's rules. A
// field the table refuses is reported alone; past that the error names
// every problem at once, so a bad deal file is fixed in one go.
func (t *Terms) Normalize() error {
	if err := t.checkInput(); err != nil {
		return fmt.Errorf("deal terms: %w", err)
	}
	bad := t.checkMoney()
	need := func(v, name string) {
		if strings.TrimSpace(v) == "" {
			bad = append(bad, name+" is required")
		}
	}
	need(t.DealID, "deal_id")
	need(t.Client, "client")
	need(t.Workstream, "workstream")
	need(t.Currency, "currency")
	need(t.People.AE, "people.ae")
	need(t.People.Presales, "people.presales")
	need(t.People.PricingApprover, "people.pricing_approver")
	need(t.People.PM, "people.pm")
	need(t.People.GM, "people.gm")
	if strings.ContainsAny(t.DealID, " /\t\n") {
		bad = append(bad, "deal_id must not contain spaces or slashes")
	}
	t.Currency = strings.ToUpper(strings.TrimSpace(t.Currency))
	if err := checkAmount(t.ContractValue, false); err != nil {
		bad = append(bad, "contract_value "+err.Error())
	}
	if t.TargetMarginPct.LessThan(decimal.Zero) || t.TargetMarginPct.GreaterThanOrEqual(decimal.NewFromInt(100)) {
		bad = append(bad, "target_margin_pct must be a percentage from 0 to below 100")
	}
	if t.PlannedCost == nil {
		pc := t.ContractValue.Mul(decimal.NewFromInt(1).Sub(t.TargetMarginPct.Div(hundred)))
		pc = pc.Round(MinorUnits(t.Currency))
		t.PlannedCost = &pc
	} else if t.PlannedCost.IsNegative() {
		bad = append(bad, "planned_cost must not be negative")
	}
	if t.StartDate.IsZero() || t.EndDate.IsZero() {
		bad = append(bad, "start_date and end_date are required (YYYY-MM-DD)")
	} else if !t.EndDate.After(t.StartDate.Time) {
		bad = append(bad, "end_date must be after start_date")
	}
	for _, s := range t.ClientSignoff {
		if _, ok := ticketSpecs[Stage(s)]; !ok {
			bad = append(bad, fmt.Sprintf("client_signoff names %q, which is not a presale ticket (discovery, scoping, proposal, pricing)", s))
		}
	}
	if t.MarginWarnPts == nil {
		v := decimal.NewFromInt(DefaultWarnPts)
		t.MarginWarnPts = &v
	}
	if t.MarginCriticalPts == nil {
		v := decimal.NewFromInt(DefaultCriticalPts)
		t.MarginCriticalPts = &v
	}
	if !t.MarginCriticalPts.GreaterThan(*t.MarginWarnPts) {
		bad = append(bad, "margin_critical_pts must be above margin_warn_pts")
	}
	if _, err := t.CheckEvery(); err != nil {
		bad = append(bad, err.Error())
	}
	if t.LateCostDays == nil {
		d := DefaultLateCostDays
		t.LateCostDays = &d
	} else if *t.LateCostDays < 0 || *t.LateCostDays > 3650 {
		bad = append(bad, "late_cost_days must be from 0 to 3650")
	}
	if t.ClientLinkDays == nil {
		d := DefaultClientLinkDays
		t.ClientLinkDays = &d
	} else if *t.ClientLinkDays < 1 || *t.ClientLinkDays > MaxClientLinkDays {
		bad = append(bad, fmt.Sprintf("client_link_days must be from 1 to %d", MaxClientLinkDays))
	}
	if _, err := t.Calendar(); err != nil {
		bad = append(bad, err.Error())
	}
	if len(bad) > 0 {
		return fmt.Errorf("deal terms: %s", strings.Join(bad, "; "))
	}
	return nil
}

// checkInput and checkMoney check the terms as
// JSON against Fields, then money in the currency's minor unit and each
// client sign-off once. Whoever reads terms from JSON checks that JSON
// with CheckInput first, for what decoding hides: unknown and repeated
// fields, numbers where money is a string.
func (t *Terms) checkInput() error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return CheckInput("terms", b)
}

func (t *Terms) checkMoney() []string {
	var bad []string
	if err := checkMinorUnits("contract_value", t.ContractValue, t.Currency); err != nil {
		bad = append(bad, err.Error())
	}
	if t.PlannedCost != nil {
		if err := checkMinorUnits("planned_cost", *t.PlannedCost, t.Currency); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if t.MarginWarnPts != nil && t.MarginWarnPts.Sign() <= 0 {
		bad = append(bad, "margin_warn_pts must be above 0")
	}
	for i, s := range t.ClientSignoff {
		if slices.Contains(t.ClientSignoff[:i], s) {
			bad = append(bad, fmt.Sprintf("client_signoff names %s twice", s))
		}
	}
	return bad
}

// LateCostWindow is how long after the deal ends its costs and fees are
// still taken: supplier invoices arrive after the project closes.
func (t Terms) LateCostWindow() time.Duration {
	days := DefaultLateCostDays
	if t.LateCostDays != nil {
		days = *t.LateCostDays
	}
	return time.Duration(days) * 24 * time.Hour
}

// ClientLinkTTL is how long a link for the client's sign-off is valid.
func (t Terms) ClientLinkTTL() time.Duration {
	days := DefaultClientLinkDays
	if t.ClientLinkDays != nil {
		days = *t.ClientLinkDays
	}
	return time.Duration(days) * 24 * time.Hour
}

// CheckEvery is how often the margin-check loop wakes.
func (t Terms) CheckEvery() (time.Duration, error) {
	if t.MarginCheckEvery == "" {
		return DefaultCheckEvery, nil
	}
	d, err := time.ParseDuration(t.MarginCheckEvery)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("margin_check_every %q must be a duration of at least 1s, such as 24h or 2m", t.MarginCheckEvery)
	}
	return d, nil
}

func (t Terms) needsClientSignoff(ticket string) bool {
	for _, s := range t.ClientSignoff {
		if s == ticket {
			return true
		}
	}
	return false
}

// Date is a calendar day, written as YYYY-MM-DD.
type Date struct{ time.Time }

const dateLayout = "2006-01-02"

func NewDate(y int, m time.Month, d int) Date { return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date of the form YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(dateLayout)
}

func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(d.String())
}

func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date must be a string YYYY-MM-DD")
	}
	if s == "" {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}
