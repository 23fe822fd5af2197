package deal_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// inDelivery is a deal past its handover, in currency cur.
func inDelivery(t *testing.T, cur string) (*dealtest.Deal, func() time.Time) {
	t.Helper()
	now := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	terms := dealtest.Terms("d-"+strings.ToLower(cur), now)
	terms.Currency = cur
	d, err := dealtest.Open(terms, now)
	if err != nil {
		t.Fatal(err)
	}
	at := func() time.Time { now = now.Add(time.Minute); return now }
	for _, st := range dealtest.ToDelivery() {
		if res := d.Send(at(), st.Signal, st.Payload); res.Status != deal.Accepted {
			t.Fatalf("%s: %+v", st.Signal, res)
		}
	}
	return d, at
}

// TestInputsTheIssueFoundAccepted sends each input a hostile review found
// accepted, or accepted with another meaning, and wants it refused with a
// reason naming the field; the deal stays as it was.
func TestInputsTheIssueFoundAccepted(t *testing.T) {
	cases := []struct {
		name, signal, payload, want string
	}{
		{"a change order driving planned cost negative", deal.SigChangeOrder,
			`{"id":"COnpc","amount":"10","planned_cost":"-90000","status":"approved","by":"U_AE"}`, "would take planned cost to -20000 EUR; it must stay 0 or more"},
		{"a change order with no amounts", deal.SigChangeOrder,
			`{"id":"CO0","status":"approved","by":"U_AE"}`, "amount is required"},
		{"a change order of zero and zero", deal.SigChangeOrder,
			`{"id":"CO0","amount":"0","planned_cost":"0","status":"approved","by":"U_AE"}`, "changes neither the amount nor the planned cost"},
		{"a change order in tenths of a cent", deal.SigChangeOrder,
			`{"id":"CO1","amount":"10.005","planned_cost":"1","status":"pending","by":"U_AE"}`, "amount 10.005 has more decimal places than EUR has (2)"},
		{"a repeated key", deal.SigProgress, `{"pct_complete":"30","pct_complete":"95","by":"U_PM"}`, `progress holds the field "pct_complete" twice`},
		{"a JSON number for money", deal.SigInvoice,
			`{"invoice_id":"I1","category":"travel","amount":12.5,"currency":"EUR","date":"2026-02-01"}`, `amount must be a decimal string such as "12.50", not the JSON number 12.5`},
		{"a JSON number for a percentage", deal.SigProgress, `{"pct_complete":30,"by":"U_PM"}`, "pct_complete must be a decimal string"},
		{"a commitment id of spaces", deal.SigCommitment, `{"id":"   ","kind":"date","text":"x","by":"U_AE"}`, `id "   " is not an id`},
		{"an empty invoice id", deal.SigInvoice,
			`{"invoice_id":"","category":"travel","amount":"1","currency":"EUR","date":"2026-02-01"}`, "invoice_id is required; it is empty"},
		{"an invoice currency with spaces", deal.SigInvoice,
			`{"invoice_id":"I2","category":"travel","amount":"1","currency":" EUR","date":"2026-02-01"}`, `currency " EUR" is not an ISO 4217 currency code`},
		{"a fee currency with spaces", deal.SigFee,
			`{"fee_id":"F1","kind":"invoiced","amount":"1","currency":" EUR","date":"2026-02-01"}`, `currency " EUR" is not an ISO 4217 currency code`},
		{"a currency in lower case", deal.SigFee,
			`{"fee_id":"F1","kind":"invoiced","amount":"1","currency":"eur","date":"2026-02-01"}`, `currency "eur" is not an ISO 4217 currency code`},
		{"Latin-1 bytes", deal.SigIncident,
			"{\"incident_id\":\"i1\",\"severity\":\"minor\",\"status\":\"open\",\"title\":\"M\xfcller\"}", "payload is not valid UTF-8 (at byte 65)"},
		{"a control character in a one-line text", deal.SigIncident,
			`{"incident_id":"i1","severity":"minor","status":"open","title":"a\u001bb"}`, "title holds the control character U+001B"},
		{"sub-cent money in the deal's currency", deal.SigInvoice,
			`{"invoice_id":"I3","category":"travel","amount":"10.005","currency":"EUR","date":"2026-02-01"}`, "amount 10.005 has more decimal places than EUR has (2)"},
		{"a fee of a tenth of a cent", deal.SigFee,
			`{"fee_id":"F2","kind":"invoiced","amount":"0.001","currency":"EUR","date":"2026-02-01"}`, "fee amount 0.001 has more decimal places than EUR has (2)"},
		{"an exponent", deal.SigInvoice,
			`{"invoice_id":"I4","category":"travel","amount":"1e3","currency":"EUR","date":"2026-02-01"}`, `amount "1e3" is not a decimal`},
		{"a date with a time", deal.SigInvoice,
			`{"invoice_id":"I5","category":"travel","amount":"1","currency":"EUR","date":"2026-02-01T00:00:00Z"}`, `date "2026-02-01T00:00:00Z" is not a date`},
		{"a url that is not http", deal.SigSignoff,
			`{"ticket":"discovery","by":"U_PRESALES","side":"internal","decision":"approve","deliverable":{"url":"javascript:alert(1)"}}`, "deliverable.url must be an absolute http or https URL"},
		{"a nested unknown field", deal.SigHandover,
			`{"by":"U_PM","signed_off":true,"checklist":{"resources_confirmd":true}}`, `checklist has no field "resources_confirmd"`},
		{"a list where text belongs", deal.SigIncident, `{"incident_id":"i1","severity":"minor","status":"open","title":["x"]}`, "title must be a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, at := inDelivery(t, "EUR")
			before, _ := json.Marshal(d.State)
			refusals := d.State.Refusals
			res := d.Send(at(), c.signal, []byte(c.payload))
			if res.Status != deal.Refused || !strings.Contains(res.Reason, c.want) {
				t.Fatalf("got %+v, want refused with %q", res, c.want)
			}
			if d.State.Refusals != refusals+1 {
				t.Fatalf("the refusal left no row (%d refusals)", d.State.Refusals)
			}
			// Only the refusal counter and the version moved.
			d.State.Refusals, d.State.Version = refusals, d.State.Version-1
			if after, _ := json.Marshal(d.State); string(after) != string(before) {
				t.Fatalf("a refused input changed the deal")
			}
		})
	}
}

// TestStartTermsTheIssueFoundAccepted checks terms as the starter and the
// workflow read them: the JSON first (CheckInput), then Normalize.
func TestStartTermsTheIssueFoundAccepted(t *testing.T) {
	good := func() map[string]any {
		var m map[string]any
		b, _ := json.Marshal(dealtest.Terms("d1", time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)))
		_ = json.Unmarshal(b, &m)
		return m
	}
	check := func(m map[string]any) error {
		b, _ := json.Marshal(m)
		if err := deal.CheckInput("terms", b); err != nil {
			return err
		}
		var terms deal.Terms
		if err := json.Unmarshal(b, &terms); err != nil {
			return err
		}
		return terms.Normalize()
	}
	if err := check(good()); err != nil {
		t.Fatalf("good terms: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(m map[string]any)
		wants string
	}{
		{"a misspelt field", func(m map[string]any) { m["target_margin"] = m["target_margin_pct"]; delete(m, "target_margin_pct") },
			`terms has no field "target_margin"`},
		{"a negative warning threshold", func(m map[string]any) { m["margin_warn_pts"] = "-5" }, `margin_warn_pts "-5" is not a decimal`},
		{"a planned cost of 1e15", func(m map[string]any) { m["planned_cost"] = "1000000000000000" }, "planned_cost 1000000000000000 has more than 12 integer digits"},
		{"a currency that is none", func(m map[string]any) { m["currency"] = "EURO!!" }, `currency "EURO!!" is not an ISO 4217 currency code`},
		{"a deal id a URL cannot hold", func(m map[string]any) { m["deal_id"] = "x?a#b" }, `deal_id "x?a#b" is not an id`},
		{"a contract value as a JSON number", func(m map[string]any) { m["contract_value"] = 100000 }, "contract_value must be a decimal string"},
		{"yen with cents", func(m map[string]any) { m["currency"] = "JPY"; m["contract_value"] = "100000.50" }, "contract_value 100000.5 has more decimal places than JPY has (0)"},
		{"a client sign-off named twice", func(m map[string]any) { m["client_signoff"] = []string{"scoping", "scoping"} }, "client_signoff names scoping twice"},
		{"a person with a space", func(m map[string]any) { m["people"].(map[string]any)["pm"] = "U PM" }, `people.pm "U PM" is not a Slack user id`},
	}
	for _, c := range cases {
		m := good()
		c.edit(m)
		if err := check(m); err == nil || !strings.Contains(err.Error(), c.wants) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.wants)
		}
	}

	// A repeated key is refused by CheckInput, which sees the JSON as sent.
	if err := deal.CheckInput("terms", []byte(`{"deal_id":"a","deal_id":"b"}`)); err == nil || !strings.Contains(err.Error(), `terms holds the field "deal_id" twice`) {
		t.Errorf("repeated deal_id: %v", err)
	}
	// Terms built in Go are checked as the JSON they would be sent as.
	terms := dealtest.Terms("d1", time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	terms.Currency = "XAU"
	if err := terms.Normalize(); err == nil || !strings.Contains(err.Error(), `currency "XAU" is not an ISO 4217 currency code`) {
		t.Errorf("gold as a currency: %v", err)
	}
}

// TestConversionRoundsToTheDealCurrencysMinorUnit converts into yen (no
// minor unit) and dinars (three places), half away from zero.
func TestConversionRoundsToTheDealCurrencysMinorUnit(t *testing.T) {
	cases := []struct {
		deal, invoice, amount, fx, credit, want string
	}{
		{"JPY", "USD", "100.00", "151.237", "false", "15124"},
		{"JPY", "USD", "100.00", "151.235", "false", "15124"}, // 15123.5: half away from zero
		{"JPY", "USD", "-100.00", "151.235", "true", "-15124"},
		{"KWD", "EUR", "10.00", "0.33335", "false", "3.334"},
		{"KWD", "EUR", "-10.00", "0.33335", "true", "-3.334"},
		{"EUR", "JPY", "1000", "0.00611", "false", "6.11"},
		{"EUR", "KWD", "1.005", "2.7", "false", "2.71"}, // 2.7135
	}
	for _, c := range cases {
		d, at := inDelivery(t, c.deal)
		payload := `{"invoice_id":"I1","category":"travel","amount":"` + c.amount + `","currency":"` + c.invoice +
			`","fx_rate":"` + c.fx + `","credit":` + c.credit + `,"date":"2026-02-01"}`
		if res := d.Send(at(), deal.SigInvoice, []byte(payload)); res.Status != deal.Accepted {
			t.Fatalf("%s in %s: %+v", c.amount, c.invoice, res)
		}
		if got := d.State.Ledger.ActualCost(); !got.Equal(decimal.RequireFromString(c.want)) {
			t.Errorf("%s %s at %s into %s: %s, want %s", c.amount, c.invoice, c.fx, c.deal, got, c.want)
		}
	}
	// An amount finer than its own currency's minor unit is refused.
	d, at := inDelivery(t, "EUR")
	res := d.Send(at(), deal.SigInvoice, []byte(`{"invoice_id":"I1","category":"travel","amount":"100.5","currency":"JPY","fx_rate":"0.0061","date":"2026-02-01"}`))
	if res.Status != deal.Refused || !strings.Contains(res.Reason, "amount 100.5 has more decimal places than JPY has (0)") {
		t.Fatalf("half a yen: %+v", res)
	}
}

// TestREADMEFieldTable holds the README to the table the code enforces:
// `go run ./deal/fieldtable` writes it between the markers.
func TestREADMEFieldTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := deal.WithFieldTable(string(b))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if string(b) != want {
		t.Fatalf("README.md's field table is not the one the code enforces; run `go run ./deal/fieldtable`")
	}
}

// Lengths are in characters, the same in CheckInput and in the rules: a
// commitment of 4,000 CJK characters (12,000 bytes) is within its 4,000.
func TestTextLimitsCountCharacters(t *testing.T) {
	now := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	d, err := dealtest.Open(dealtest.Terms("d1", now), now)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("日", 4000)
	res := d.Send(now, deal.SigCommitment, []byte(`{"id":"c1","kind":"date","text":"`+text+`","by":"U_AE"}`))
	if res.Status != deal.Accepted {
		t.Fatalf("4,000 characters of text: %+v", res)
	}
	res = d.Send(now, deal.SigCommitment, []byte(`{"id":"c2","kind":"date","text":"`+text+`日","by":"U_AE"}`))
	if res.Status != deal.Refused || !strings.Contains(res.Reason, "text is longer than 4000 characters") {
		t.Fatalf("one character more: %+v", res)
	}
}
