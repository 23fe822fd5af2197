package deal

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Ledger is the deal's money as running totals. PostgreSQL holds every
// invoice and fee and decides whether one is new (see db.Store.TakeLedger);
// the workflow keeps only these sums, so each invoice costs it O(1).
type Ledger struct {
	// Costs has one entry per invoice category, in InvoiceCategories order.
	Costs         []CategoryCost  `json:"costs"`
	Invoices      int64           `json:"invoices"`
	FeesInvoiced  decimal.Decimal `json:"fees_invoiced"`
	FeesCollected decimal.Decimal `json:"fees_collected"`
	Fees          int64           `json:"fees"`
	// Batches counts the ledger batches taken; the next batch's number
	// tells a retried write from a re-sent invoice.
	Batches int64 `json:"batches"`
}

func NewLedger() Ledger {
	l := Ledger{Costs: make([]CategoryCost, len(InvoiceCategories))}
	for i, c := range InvoiceCategories {
		l.Costs[i] = CategoryCost{Category: c, Amount: decimal.Zero}
	}
	return l
}

// ActualCost is the sum of every cost invoice, in the deal's currency.
func (l Ledger) ActualCost() decimal.Decimal {
	sum := decimal.Zero
	for _, c := range l.Costs {
		sum = sum.Add(c.Amount)
	}
	return sum
}

// Add counts one invoice or fee in.
func (l *Ledger) Add(e LedgerEntry) {
	if len(l.Costs) == 0 {
		*l = NewLedger()
	}
	if inv := e.Invoice; inv != nil {
		l.Invoices++
		for i := range l.Costs {
			if l.Costs[i].Category == inv.Category {
				l.Costs[i].Amount = l.Costs[i].Amount.Add(inv.DealAmount)
			}
		}
	}
	if f := e.Fee; f != nil {
		l.Fees++
		if f.Kind == "invoiced" {
			l.FeesInvoiced = l.FeesInvoiced.Add(f.Amount)
		} else {
			l.FeesCollected = l.FeesCollected.Add(f.Amount)
		}
	}
}

// LedgerOf sums lists of invoices and fees, for reading a deal back.
func LedgerOf(invoices []Invoice, fees []Fee) Ledger {
	l := NewLedger()
	for i := range invoices {
		l.Add(LedgerEntry{Invoice: &invoices[i]})
	}
	for i := range fees {
		l.Add(LedgerEntry{Fee: &fees[i]})
	}
	return l
}

// LedgerEntry is an invoice or a fee the rules accepted, on its way to
// PostgreSQL, which knows whether its id was taken before.
type LedgerEntry struct {
	Invoice *Invoice `json:"invoice,omitempty"`
	Fee     *Fee     `json:"fee,omitempty"`
}

// ID is the entry's own id: invoice_id or fee_id.
func (e LedgerEntry) ID() string {
	if e.Invoice != nil {
		return e.Invoice.InvoiceID
	}
	if e.Fee != nil {
		return e.Fee.FeeID
	}
	return ""
}

// IsLedgerSignal is true for the signals whose entries PostgreSQL checks.
func IsLedgerSignal(signal string) bool { return signal == SigInvoice || signal == SigFee }

// CheckEntry checks an invoice or fee against the rules: everything that
// does not need the ledger itself. The error is a refusal to record.
func (s *State) CheckEntry(now time.Time, signal string, payload []byte) (LedgerEntry, error) {
	if err := s.checkInput(signal, payload); err != nil {
		return LedgerEntry{}, err
	}
	if w := s.Terms.LateCostWindow(); s.EndedAt != nil && now.Sub(*s.EndedAt) >= w {
		return LedgerEntry{}, refuse("deal %s ended on %s; costs and fees are taken for %d days after that",
			s.Terms.DealID, s.EndedAt.Format(dateLayout), int(w.Hours()/24))
	}
	switch signal {
	case SigInvoice:
		sig, err := decode[InvoiceSignal](payload)
		if err != nil {
			return LedgerEntry{}, err
		}
		inv, err := NewInvoice(sig, s.Terms.Currency)
		if err != nil {
			return LedgerEntry{}, err
		}
		inv.ReceivedAt = now
		return LedgerEntry{Invoice: &inv}, nil
	case SigFee:
		sig, err := decode[FeeSignal](payload)
		if err != nil {
			return LedgerEntry{}, err
		}
		f, err := s.newFee(sig)
		if err != nil {
			return LedgerEntry{}, err
		}
		return LedgerEntry{Fee: &f}, nil
	}
	return LedgerEntry{}, refuse("%s is not a ledger signal", signal)
}

func (s *State) newFee(f FeeSignal) (Fee, error) {
	if strings.TrimSpace(f.FeeID) == "" {
		return Fee{}, refuse("fee_id is required")
	}
	if !slices.Contains(FeeKinds, f.Kind) {
		return Fee{}, refuse("fee kind must be invoiced or collected, not %q", f.Kind)
	}
	if err := checkAmount(f.Amount, false); err != nil {
		return Fee{}, refuse("fee amount %s", err)
	}
	cur := strings.ToUpper(strings.TrimSpace(f.Currency))
	if cur != s.Terms.Currency {
		return Fee{}, refuse("fees are billed in the deal's currency %s, not %q", s.Terms.Currency, f.Currency)
	}
	if f.Date.IsZero() {
		return Fee{}, refuse("fee date is required (YYYY-MM-DD)")
	}
	if err := checkMinorUnits("fee amount", f.Amount, cur); err != nil {
		return Fee{}, err
	}
	if s.Close == nil || s.Close.Outcome != "won" {
		return Fee{}, refuse("fees are recorded once the deal is won; it is at %s", s.Stage)
	}
	return Fee{FeeID: f.FeeID, Kind: f.Kind, Amount: f.Amount, Currency: cur, Date: f.Date}, nil
}

// TakeLedger sets the totals PostgreSQL answered after taking a batch, and
// checks the margin once for the whole batch. After the deal ended there
// are no alerts, but the final margin moves and is snapshotted again.
//
// A batch that took nothing new (only repeats) changes nothing, not even
// the batch count: its number is used again, which is safe since no row
// carries it.
func (s *State) TakeLedger(now time.Time, totals Ledger) Effects {
	if totals.sameTotals(s.Ledger) {
		return Effects{}
	}
	a := &applier{s: s, now: now}
	s.Ledger = totals
	switch {
	case s.Stage.IsFinal() && s.BaseStage != "":
		a.snapshot()
	case s.BaseStage != "":
		a.checkMargin()
	default:
		s.refreshMargin(now)
	}
	s.Version++
	return a.effects
}

// Conflict is the refusal of an entry whose id is taken by e with other
// content: the taken one stays, never overwritten.
func (e LedgerEntry) Conflict() string {
	if inv := e.Invoice; inv != nil {
		return fmt.Sprintf("invoice %s is already recorded with other content (amount %s %s); send a credit note or use a new invoice_id",
			inv.InvoiceID, inv.Amount, inv.Currency)
	}
	return fmt.Sprintf("fee %s is already recorded with other content", e.ID())
}

// SameAs is true when two entries under one id say the same thing.
func (e LedgerEntry) SameAs(o LedgerEntry) bool {
	switch {
	case e.Invoice != nil && o.Invoice != nil:
		return e.Invoice.SameContent(*o.Invoice)
	case e.Fee != nil && o.Fee != nil:
		a, b := e.Fee, o.Fee
		return a.Kind == b.Kind && a.Amount.Equal(b.Amount) && a.Date.Equal(b.Date.Time)
	}
	return false
}

func (l Ledger) sameTotals(o Ledger) bool {
	if l.Invoices != o.Invoices || l.Fees != o.Fees || !l.FeesInvoiced.Equal(o.FeesInvoiced) ||
		!l.FeesCollected.Equal(o.FeesCollected) || len(l.Costs) != len(o.Costs) {
		return false
	}
	for i := range l.Costs {
		if l.Costs[i].Category != o.Costs[i].Category || !l.Costs[i].Amount.Equal(o.Costs[i].Amount) {
			return false
		}
	}
	return true
}
