package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"dealflow/db/dbq"
	"dealflow/deal"
)

// ErrDealTaken is returned when a deal id already belongs to another
// workflow chain: a deal id names one deal, once.
var ErrDealTaken = errors.New("deal id is taken")

// ClaimDeal writes a new deal's row for the run chain firstRunID. Claiming
// again for the same chain is a no-op; a deal id that another chain owns
// answers ErrDealTaken with when that deal was opened.
func (s *Store) ClaimDeal(ctx context.Context, st *deal.State, firstRunID string) (time.Time, error) {
	t, m := st.Terms, st.Margin
	owner, err := dbq.New(s.Pool).ClaimDeal(ctx, dbq.ClaimDealParams{
		DealID: t.DealID, Client: t.Client, Workstream: t.Workstream, Currency: t.Currency,
		ContractValue: t.ContractValue, TargetMarginPct: t.TargetMarginPct, PlannedCost: deref(t.PlannedCost),
		StartDate: t.StartDate.Time, EndDate: t.EndDate.Time, Ae: t.People.AE, Presales: t.People.Presales,
		PricingApprover: t.People.PricingApprover, Pm: t.People.PM, Gm: t.People.GM, SlackChannel: t.SlackChannel,
		ClientSignoff: nonNil(t.ClientSignoff), MarginWarnPts: deref(t.MarginWarnPts), MarginCriticalPts: deref(t.MarginCriticalPts),
		MarginCheckEvery: t.MarginCheckEvery, Stage: string(st.Stage), OpenedAt: st.OpenedAt, MarginAsOf: m.AsOf,
		Revenue: m.Revenue, Eac: m.EAC, CurrentMarginPct: m.CurrentMarginPct, ForecastMarginPct: m.ForecastMarginPct,
		DriftPts: m.DriftPts, FirstRunID: firstRunID, LateCostDays: int32(t.LateCostWindow().Hours() / 24),
		ClientLinkDays: clientLinkDays(t),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		// The row exists and another chain owns it.
		o, err := dbq.New(s.Pool).GetDealOwner(ctx, t.DealID)
		if err != nil {
			return time.Time{}, err
		}
		if o.FirstRunID == firstRunID {
			return o.OpenedAt, nil
		}
		return o.OpenedAt, ErrDealTaken
	}
	if err != nil {
		return time.Time{}, err
	}
	if owner != firstRunID {
		return time.Time{}, ErrDealTaken
	}
	return st.OpenedAt, nil
}

// StaleState is a state write SaveRows dropped: PostgreSQL already holds a
// newer version of the deal. Its rows were still written (they are keyed by
// the ids the workflow gave them), only the state columns were not.
type StaleState struct {
	Stored, Given int64
}

// SaveRows writes one batch of a deal's changed rows and its state columns
// in one transaction. The state carries the version: an older one than the
// stored never moves the deal back, and is answered as a StaleState so the
// caller can say so.
func (s *Store) SaveRows(ctx context.Context, st *deal.Summary, health string, rows deal.Rows) (*StaleState, error) {
	var stale *StaleState
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		n, err := q.SaveDealState(ctx, stateParams(st, health))
		if err != nil {
			return err
		}
		if n == 0 {
			// No row at all is not a stale write; the rows below fail on
			// their own then.
			if stored, err := q.DealVersion(ctx, st.DealID); err == nil {
				stale = &StaleState{Stored: stored, Given: st.Version}
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		var b batcher
		if err := queueRows(ctx, dbq.New(&b), st.DealID, st.Version, rows, false); err != nil {
			return err
		}
		// A deal linked to HubSpot has its mirror row bumped with the
		// change itself, so the CRM never misses one (hubspot/mirror.go).
		if err := dbq.New(&b).TouchHubSpotOutbox(ctx, st.DealID); err != nil {
			return err
		}
		return b.send(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return stale, nil
}

func stateParams(st *deal.Summary, health string) dbq.SaveDealStateParams {
	m := st.Margin
	p := dbq.SaveDealStateParams{
		DealID: st.DealID, Stage: string(st.Stage), BaseStage: string(st.BaseStage),
		MarginAsOf: m.AsOf, Revenue: m.Revenue, ActualCost: m.ActualCost, Eac: m.EAC, CurrentMargin: m.CurrentMargin,
		CurrentMarginPct: m.CurrentMarginPct, ForecastMarginPct: m.ForecastMarginPct, DriftPts: m.DriftPts,
		MarginStatus: m.Status, AlertedStatus: st.Alerted, PendingChangeOrders: m.PendingChangeOrders,
		OpenIncidents: int32(st.OpenIncidents), MarginChecks: st.MarginChecks, EndedAt: st.EndedAt,
		RefusalCount: st.Refusals, Health: health, Version: st.Version,
	}
	if c := st.Close; c != nil {
		at := c.At
		p.CloseOutcome, p.CloseBy, p.CloseReason, p.ClosedAt = c.Outcome, c.By, c.Reason, &at
	}
	if pr := st.Progress; pr != nil {
		pct, at := pr.PctComplete, pr.At
		p.PctComplete, p.ProgressBy, p.ProgressAt = &pct, pr.By, &at
	}
	return p
}
