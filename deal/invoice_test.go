package deal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// invoiceSignal is a valid EUR invoice; cases change one thing.
func invoiceSignal(edit func(*deal.InvoiceSignal)) deal.InvoiceSignal {
	s := deal.InvoiceSignal{InvoiceID: "INV-1", Category: "subcontractor", Amount: d("1234.56"), Currency: "EUR",
		Date: deal.NewDate(2026, 1, 10), Supplier: "Initech", Memo: "Sprint 1"}
	if edit != nil {
		edit(&s)
	}
	return s
}

func TestNewInvoice(t *testing.T) {
	cases := []struct {
		name string
		edit func(*deal.InvoiceSignal)
		// wantErr is the whole reason, or "" when the invoice is taken.
		wantErr string
		// When taken: the amount kept, its value in EUR, and the rate.
		amount, dealAmount, fx string
	}{
		{name: "plain EUR invoice", amount: "1234.56", dealAmount: "1234.56"},
		{name: "currency is trimmed and upper-cased", edit: func(s *deal.InvoiceSignal) { s.Currency = " eur " }, amount: "1234.56", dealAmount: "1234.56"},
		{name: "fx_rate 1 on a deal-currency invoice is harmless", edit: func(s *deal.InvoiceSignal) { s.FXRate = ptr(d("1")) }, amount: "1234.56", dealAmount: "1234.56"},
		{name: "twelve integer digits is the most", edit: func(s *deal.InvoiceSignal) { s.Amount = d("999999999999.99") }, amount: "999999999999.99", dealAmount: "999999999999.99"},

		// Credit notes: the record keeps them negative whichever way the
		// export wrote them.
		{name: "credit note written negative", edit: func(s *deal.InvoiceSignal) { s.Amount, s.Credit = d("-500"), true }, amount: "-500", dealAmount: "-500"},
		{name: "credit note written positive", edit: func(s *deal.InvoiceSignal) { s.Amount, s.Credit = d("500"), true }, amount: "-500", dealAmount: "-500"},

		// FX: deal amount = amount * fx_rate, rounded to the cent, half up.
		// 1,000 * 0.9123 = 912.3000 -> 912.30.
		{name: "USD with fx_rate", edit: func(s *deal.InvoiceSignal) { s.Amount, s.Currency, s.FXRate = d("1000"), "USD", ptr(d("0.9123")) }, amount: "1000", dealAmount: "912.30", fx: "0.9123"},
		// 1,234.56 * 0.91234 = 1,111.104 + 15.2344704 = 1,126.3384704 -> 1,126.34.
		{name: "FX rounds to the cent", edit: func(s *deal.InvoiceSignal) { s.Currency, s.FXRate = "USD", ptr(d("0.91234")) }, amount: "1234.56", dealAmount: "1126.34", fx: "0.91234"},
		// 100.01 * 0.5 = 50.005 -> 50.01 (half up, not to even).
		{name: "FX half cent rounds up", edit: func(s *deal.InvoiceSignal) { s.Amount, s.Currency, s.FXRate = d("100.01"), "GBP", ptr(d("0.5")) }, amount: "100.01", dealAmount: "50.01", fx: "0.5"},
		// -100.01 * 0.5 = -50.005 -> -50.01 (away from zero).
		{name: "FX credit note half cent rounds away from zero", edit: func(s *deal.InvoiceSignal) {
			s.Amount, s.Currency, s.FXRate, s.Credit = d("100.01"), "GBP", ptr(d("0.5")), true
		}, amount: "-100.01", dealAmount: "-50.01", fx: "0.5"},

		{name: "missing invoice_id", edit: func(s *deal.InvoiceSignal) { s.InvoiceID = " " }, wantErr: "invoice_id is required"},
		{name: "unknown category", edit: func(s *deal.InvoiceSignal) { s.Category = "food" },
			wantErr: `category must be one of subcontractor, license, travel, internal, not "food"`},
		{name: "zero amount", edit: func(s *deal.InvoiceSignal) { s.Amount = decimal.Zero }, wantErr: "amount must not be zero"},
		{name: "zero credit note", edit: func(s *deal.InvoiceSignal) { s.Amount, s.Credit = d("0.00"), true }, wantErr: "amount must not be zero"},
		{name: "negative without credit", edit: func(s *deal.InvoiceSignal) { s.Amount = d("-20") },
			wantErr: `amount -20 is negative: a negative amount is allowed only on a credit note ("credit": true)`},
		{name: "thirteen integer digits", edit: func(s *deal.InvoiceSignal) { s.Amount = d("1000000000000") },
			wantErr: "amount has more than 12 integer digits"},
		{name: "thirteen integer digits on a credit note", edit: func(s *deal.InvoiceSignal) { s.Amount, s.Credit = d("-1000000000000.5"), true },
			wantErr: "amount has more than 12 integer digits"},
		{name: "missing currency", edit: func(s *deal.InvoiceSignal) { s.Currency = "" }, wantErr: "currency is required"},
		{name: "missing date", edit: func(s *deal.InvoiceSignal) { s.Date = deal.Date{} }, wantErr: "date is required (YYYY-MM-DD)"},
		{name: "other currency without fx_rate", edit: func(s *deal.InvoiceSignal) { s.Currency = "usd" },
			wantErr: "invoice is in USD but the deal is in EUR: fx_rate is required"},
		{name: "fx_rate zero", edit: func(s *deal.InvoiceSignal) { s.Currency, s.FXRate = "USD", ptr(decimal.Zero) },
			wantErr: "fx_rate must be a positive decimal, not 0"},
		{name: "fx_rate negative", edit: func(s *deal.InvoiceSignal) { s.Currency, s.FXRate = "USD", ptr(d("-0.9")) },
			wantErr: "fx_rate must be a positive decimal, not -0.9"},
		{name: "fx_rate absurd", edit: func(s *deal.InvoiceSignal) { s.Currency, s.FXRate = "USD", ptr(d("1000000000000")) },
			wantErr: "fx_rate must be a positive decimal, not 1000000000000"},
		{name: "fx_rate other than 1 on a deal-currency invoice", edit: func(s *deal.InvoiceSignal) { s.FXRate = ptr(d("1.1")) },
			wantErr: "fx_rate 1.1 given for an invoice already in the deal's currency EUR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := deal.NewInvoice(invoiceSignal(c.edit), "EUR")
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !inv.Amount.Equal(d(c.amount)) || !inv.DealAmount.Equal(d(c.dealAmount)) {
				t.Errorf("amount %s deal amount %s, want %s and %s", inv.Amount, inv.DealAmount, c.amount, c.dealAmount)
			}
			if inv.DealAmount.Exponent() < -2 {
				t.Errorf("deal amount %s is finer than a cent", inv.DealAmount)
			}
			switch {
			case c.fx == "" && inv.FXRate != nil:
				t.Errorf("fx_rate %s kept on a deal-currency invoice", inv.FXRate)
			case c.fx != "" && (inv.FXRate == nil || !inv.FXRate.Equal(d(c.fx))):
				t.Errorf("fx_rate %v, want %s", inv.FXRate, c.fx)
			}
			if inv.Currency != strings.ToUpper(strings.TrimSpace(invoiceSignal(c.edit).Currency)) {
				t.Errorf("currency %q", inv.Currency)
			}
		})
	}
}

func TestInvoiceSameContent(t *testing.T) {
	base, err := deal.NewInvoice(invoiceSignal(nil), "EUR")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*deal.InvoiceSignal)
		same bool
	}{
		{"identical", nil, true},
		{"same amount written differently", func(s *deal.InvoiceSignal) { s.Amount = d("1234.560") }, true},
		{"currency case", func(s *deal.InvoiceSignal) { s.Currency = "eur" }, true},
		{"other amount", func(s *deal.InvoiceSignal) { s.Amount = d("1234.57") }, false},
		{"other category", func(s *deal.InvoiceSignal) { s.Category = "travel" }, false},
		{"other date", func(s *deal.InvoiceSignal) { s.Date = deal.NewDate(2026, 1, 11) }, false},
		{"other supplier", func(s *deal.InvoiceSignal) { s.Supplier = "Initrode" }, false},
		{"other memo", func(s *deal.InvoiceSignal) { s.Memo = "Sprint 2" }, false},
		{"now a credit note", func(s *deal.InvoiceSignal) { s.Credit = true }, false},
		{"other currency", func(s *deal.InvoiceSignal) { s.Currency, s.FXRate = "USD", ptr(d("1")) }, false},
	}
	for _, c := range cases {
		other, err := deal.NewInvoice(invoiceSignal(c.edit), "EUR")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := base.SameContent(other); got != c.same {
			t.Errorf("%s: SameContent = %v, want %v", c.name, got, c.same)
		}
	}
	usd := func(fx string) deal.Invoice {
		inv, err := deal.NewInvoice(invoiceSignal(func(s *deal.InvoiceSignal) { s.Currency, s.FXRate = "USD", ptr(d(fx)) }), "EUR")
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	if !usd("0.9").SameContent(usd("0.90")) || usd("0.9").SameContent(usd("0.91")) {
		t.Error("fx_rate must compare by value")
	}
}

// TestInvoiceSignalIdempotent checks the signal on a deal: same id and
// content is a no-op, same id with other content is refused and reported,
// never an overwrite.
func TestInvoiceSignalIdempotent(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	dl, err := dealtest.Open(dealtest.Terms("inv1", now), now)
	if err != nil {
		t.Fatal(err)
	}
	r := dl.Record
	apply := func(payload map[string]any) deal.Result {
		now = now.Add(time.Minute)
		return dl.Send(now, deal.SigInvoice, dealtest.JSON(payload))
	}
	usd := map[string]any{"invoice_id": "U1", "category": "license", "amount": "1000", "currency": "USD", "fx_rate": "0.9123", "date": "2026-01-10"}

	// Invoices are taken at any stage before the deal is final, presale
	// included.
	if res := apply(usd); res.Status != deal.Accepted {
		t.Fatalf("first: %+v", res)
	}
	version, refusals := r.Version, len(r.Refusals)
	// The same invoice again, amount and rate written differently: the
	// same content, a no-op.
	again := map[string]any{"invoice_id": "U1", "category": "license", "amount": "1000.00", "currency": "USD", "fx_rate": "0.91230", "date": "2026-01-10"}
	if res := apply(again); res.Status != deal.Duplicate {
		t.Fatalf("repeat: %+v", res)
	}
	if r.Version != version || len(r.Refusals) != refusals {
		t.Fatalf("a duplicate changed the record (version %d -> %d)", version, r.Version)
	}
	// Same id, other amount: refused, reported, the first one kept.
	changed := map[string]any{"invoice_id": "U1", "category": "license", "amount": "1100", "currency": "USD", "fx_rate": "0.9123", "date": "2026-01-10"}
	res := apply(changed)
	want := "invoice U1 is already recorded with other content (amount 1000 USD); send a credit note or use a new invoice_id"
	if res.Status != deal.Refused || res.Reason != want {
		t.Fatalf("conflict: %+v, want refused %q", res, want)
	}
	if n := len(r.Refusals); n != refusals+1 || r.Refusals[n-1].Reason != want || r.Refusals[n-1].Signal != deal.SigInvoice {
		t.Fatalf("conflict not reported on the deal: %+v", r.Refusals)
	}
	if len(r.Invoices) != 1 || !r.Invoices[0].Amount.Equal(d("1000")) || !r.Invoices[0].DealAmount.Equal(d("912.30")) {
		t.Fatalf("invoice overwritten: %+v", r.Invoices)
	}
	// A credit note under its own id brings the cost down: 912.30 - 91.23.
	credit := map[string]any{"invoice_id": "U1-CN", "category": "license", "amount": "100", "credit": true, "currency": "USD", "fx_rate": "0.9123", "date": "2026-01-12"}
	if res := apply(credit); res.Status != deal.Accepted {
		t.Fatalf("credit note: %+v", res)
	}
	if got := dl.State.Margin.ActualCost.StringFixed(2); got != "821.07" {
		t.Errorf("actual cost %s, want 821.07", got)
	}
	// A refused invoice changes nothing but the refusals.
	if res := apply(map[string]any{"invoice_id": "Z", "category": "travel", "amount": "0", "currency": "EUR", "date": "2026-01-12"}); res.Status != deal.Refused || res.Reason != "amount must not be zero" {
		t.Fatalf("zero amount: %+v", res)
	}
	if len(r.Invoices) != 2 {
		t.Fatalf("%d invoices, want 2", len(r.Invoices))
	}
	// After the deal ends, late costs are still taken for LateCostWindow,
	// and refused after it.
	if res := dl.Send(now.Add(time.Hour), deal.SigClose, dealtest.JSON(map[string]string{"outcome": "lost", "by": dealtest.AE, "reason": "budget"})); res.Status != deal.Accepted {
		t.Fatalf("close lost: %+v", res)
	}
	if res := apply(map[string]any{"invoice_id": "L1", "category": "travel", "amount": "10", "currency": "EUR", "date": "2026-01-12"}); res.Status != deal.Accepted {
		t.Fatalf("a late cost: %+v", res)
	}
	now = now.Add(dl.State.Terms.LateCostWindow() + 2*time.Hour)
	if res := apply(map[string]any{"invoice_id": "L2", "category": "travel", "amount": "10", "currency": "EUR", "date": "2026-01-12"}); res.Status != deal.Refused ||
		!strings.Contains(res.Reason, "costs and fees are taken for 90 days after that") {
		t.Fatalf("after the late-cost window: %+v", res)
	}
}
