package hubspot

import (
	"context"
	"strconv"
	"strings"
	"time"

	"dealflow/db/dbq"
	"dealflow/deal"
)

// The properties the mirror writes (docs/hubspot.md).
const (
	propDFStage      = "dealflow_stage"
	propDFHealth     = "dealflow_health"
	propDFMargin     = "dealflow_forecast_margin_pct"
	propDFCost       = "dealflow_actual_cost"
	propDFCollected  = "dealflow_fees_collected"
	propDFPending    = "dealflow_fees_pending"
	propDFIncidents  = "dealflow_open_incidents"
	propDFSignedBy   = "dealflow_handover_signed_by"
	propDFSignedAt   = "dealflow_handover_signed_at"
	propDFURL        = "dealflow_url"
	permanentBackoff = time.Hour
)

// drain writes every deal due in the outbox, up to 100 a call, until none
// is due. The latest value wins: rows are read as the deals are now, and a
// row changed while its write was on the way stays for the next call.
func (b *Bridge) drain(ctx context.Context) error {
	for {
		rows, err := b.Store.Queries().DueHubSpotMirror(ctx, MaxBatch)
		if err != nil || len(rows) == 0 {
			return err
		}
		if err := b.write(ctx, rows); err != nil {
			return err
		}
		if len(rows) < MaxBatch {
			return nil
		}
	}
}

// write sends one batch. A batch HubSpot refuses for good is split to find
// the deals it refuses (a deal deleted in HubSpot), which wait an hour while
// the others go through; a failing HubSpot delays the whole batch.
func (b *Bridge) write(ctx context.Context, rows []dbq.DueHubSpotMirrorRow) error {
	in := make([]DealUpdate, len(rows))
	for i, r := range rows {
		in[i] = DealUpdate{ID: strconv.FormatInt(r.ObjectID, 10), Properties: b.mirrorProperties(r)}
	}
	err := b.API.UpdateDeals(ctx, in)
	q := b.Store.Queries()
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.DealID
	}
	switch {
	case err == nil:
		seqs := make([]int64, len(rows))
		for i, r := range rows {
			seqs[i] = r.Seq
			if st := in[i].Properties[propStage]; st != "" {
				if err := q.SetHubSpotShownStage(ctx, dbq.SetHubSpotShownStageParams{DealID: r.DealID, ShownStage: st}); err != nil {
					return err
				}
			}
		}
		return q.MirroredHubSpot(ctx, dbq.MirroredHubSpotParams{DealIds: ids, Seqs: seqs})
	case ctx.Err() != nil:
		return ctx.Err()
	case permanent(err) && len(rows) > 1:
		if err := b.write(ctx, rows[:len(rows)/2]); err != nil {
			return err
		}
		return b.write(ctx, rows[len(rows)/2:])
	case permanent(err):
		b.Log.Error("hubspot refuses a deal's mirror; it waits an hour", "deal", rows[0].DealID, "error", err)
		return q.DelayHubSpotMirror(ctx, dbq.DelayHubSpotMirrorParams{DealIds: ids, LastError: err.Error(), AfterSeconds: permanentBackoff.Seconds()})
	}
	// HubSpot is down or slow: the changes wait, growing the lag, and are
	// tried again, never dropped.
	after := min(float64(int(1)<<min(rows[0].Attempts, 8)), 300)
	if derr := q.DelayHubSpotMirror(ctx, dbq.DelayHubSpotMirrorParams{DealIds: ids, LastError: err.Error(), AfterSeconds: after}); derr != nil {
		return derr
	}
	return err
}

// mirrorProperties is what HubSpot shows of a deal. The pipeline stage is
// written only when dealflow's stage maps to another stage than the one
// last written, so a person's move on its way here as an event is never
// overwritten by a margin change.
func (b *Bridge) mirrorProperties(r dbq.DueHubSpotMirrorRow) map[string]string {
	health := r.Health
	if health == "" {
		health = "ok"
	}
	signer := r.SignedOffBy
	if r.SignerName != "" && signer != "" {
		signer = deal.Names{r.SignedOffBy: r.SignerName}.Show(r.SignedOffBy)
	}
	signedAt := ""
	if r.SignedOffAt != nil {
		signedAt = r.SignedOffAt.UTC().Format(time.RFC3339)
	}
	p := map[string]string{
		propDFStage:     r.Stage,
		propDFHealth:    clip(health, 1000),
		propDFMargin:    r.ForecastMarginPct.StringFixed(2),
		propDFCost:      r.ActualCost.StringFixed(2),
		propDFCollected: r.FeesCollected.StringFixed(2),
		propDFPending:   r.FeesPending.StringFixed(2),
		propDFIncidents: strconv.Itoa(int(r.OpenIncidents)),
		propDFSignedBy:  signer,
		propDFSignedAt:  signedAt,
	}
	if base := strings.TrimRight(b.Config.BaseURL, "/"); base != "" {
		p[propDFURL] = base + "/deals/" + r.DealID
	}
	if st := b.Config.Stages.For(deal.Stage(r.Stage)); st != "" && st != r.ShownStage {
		p[propStage] = st
	}
	return p
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
