package deal

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

var InvoiceCategories = []string{"subcontractor", "license", "travel", "internal"}

// NewInvoice checks a cost invoice against the deal's currency and turns it
// into what the record keeps. Finance intake calls it too, to answer each
// row before anything is sent.
func NewInvoice(s InvoiceSignal, dealCurrency string) (Invoice, error) {
	if strings.TrimSpace(s.InvoiceID) == "" {
		return Invoice{}, refuse("invoice_id is required")
	}
	if !slices.Contains(InvoiceCategories, s.Category) {
		return Invoice{}, refuse("category must be one of %s, not %q", strings.Join(InvoiceCategories, ", "), s.Category)
	}
	if err := checkAmount(s.Amount, s.Credit); err != nil {
		if s.Amount.IsNegative() && !s.Credit {
			return Invoice{}, refuse("amount %s is negative: a negative amount is allowed only on a credit note (\"credit\": true)", s.Amount)
		}
		return Invoice{}, refuse("amount %s", err)
	}
	amount := s.Amount
	if s.Credit {
		// Accounting exports write credit notes either way round; the record
		// always keeps them negative.
		amount = amount.Abs().Neg()
	}
	cur := strings.ToUpper(strings.TrimSpace(s.Currency))
	if cur == "" {
		return Invoice{}, refuse("currency is required")
	}
	if s.Date.IsZero() {
		return Invoice{}, refuse("date is required (YYYY-MM-DD)")
	}
	if err := checkMinorUnits("amount", amount, cur); err != nil {
		return Invoice{}, err
	}
	places := MinorUnits(dealCurrency)
	inv := Invoice{InvoiceID: s.InvoiceID, Category: s.Category, Amount: amount, Currency: cur, Date: s.Date,
		Supplier: s.Supplier, Memo: s.Memo, Credit: s.Credit, DealAmount: amount}
	switch {
	case cur != dealCurrency && s.FXRate == nil:
		return Invoice{}, refuse("invoice is in %s but the deal is in %s: fx_rate is required", cur, dealCurrency)
	case cur != dealCurrency:
		if s.FXRate.Sign() <= 0 || tooLarge(*s.FXRate) || s.FXRate.Exponent() < -maxFXPlaces {
			return Invoice{}, refuse("fx_rate must be a positive decimal, not %s", s.FXRate)
		}
		fx := *s.FXRate
		inv.FXRate = &fx
		inv.DealAmount = amount.Mul(fx).Round(places)
	case s.FXRate != nil && !s.FXRate.Equal(decimal.NewFromInt(1)):
		return Invoice{}, refuse("fx_rate %s given for an invoice already in the deal's currency %s", s.FXRate, dealCurrency)
	}
	return inv, nil
}

// SameContent is true when two invoices under one id say the same thing.
func (i Invoice) SameContent(o Invoice) bool {
	fxEq := (i.FXRate == nil) == (o.FXRate == nil) && (i.FXRate == nil || i.FXRate.Equal(*o.FXRate))
	return i.Category == o.Category && i.Amount.Equal(o.Amount) && i.Currency == o.Currency && fxEq &&
		i.Date.Equal(o.Date.Time) && i.Supplier == o.Supplier && i.Memo == o.Memo && i.Credit == o.Credit
}

// checkAmount refuses zero, negative (unless allowed) and absurd amounts.
func checkAmount(d decimal.Decimal, allowNegative bool) error {
	switch {
	case d.IsZero():
		return fmt.Errorf("must not be zero")
	case d.IsNegative() && !allowNegative:
		return fmt.Errorf("must be positive")
	case tooLarge(d):
		return fmt.Errorf("has more than %d integer digits", maxIntegerDigits)
	case d.Exponent() < -maxMoneyPlaces:
		return fmt.Errorf("has more than %d decimal places", maxMoneyPlaces)
	}
	return nil
}

func tooLarge(d decimal.Decimal) bool {
	return d.Abs().GreaterThanOrEqual(decimal.New(1, maxIntegerDigits))
}
