package workflows

import (
	"fmt"
	"math"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/deal"
)

// Search attributes make deals findable in the Temporal UI and with
// `temporal workflow list --query`.
var (
	SADealStage         = temporal.NewSearchAttributeKeyKeyword("DealStage")
	SADealClient        = temporal.NewSearchAttributeKeyKeyword("DealClient")
	SADealAE            = temporal.NewSearchAttributeKeyKeyword("DealAE")
	SADealPM            = temporal.NewSearchAttributeKeyKeyword("DealPM")
	SAMarginStatus      = temporal.NewSearchAttributeKeyKeyword("MarginStatus")
	SAForecastMarginPct = temporal.NewSearchAttributeKeyFloat64("ForecastMarginPct")
	SAOpenIncidents     = temporal.NewSearchAttributeKeyInt64("OpenIncidents")
	// SADealHealth is ok, or what keeps failing for the deal
	// (write_failing, ledger_failing, notify_failing).
	SADealHealth = temporal.NewSearchAttributeKeyKeyword("DealHealth")
)

// SearchAttributes is every attribute the workflow sets, for registering
// them with a server.
var SearchAttributes = temporal.NewSearchAttributes(
	SADealStage.ValueSet(""), SADealClient.ValueSet(""), SADealAE.ValueSet(""), SADealPM.ValueSet(""),
	SAMarginStatus.ValueSet(""), SAForecastMarginPct.ValueSet(0), SAOpenIncidents.ValueSet(0), SADealHealth.ValueSet(""),
)

// publish tells the Temporal UI where the deal stands: search attributes
// and the workflow's current details, refreshed only when they changed.
func (w *dealWorkflow) publish(ctx workflow.Context) {
	s := w.s
	m := s.Margin
	details := fmt.Sprintf("**Stage:** %s  \n**Forecast margin:** %s%% against target %s%% (%s)  \n**Actual cost:** %s %s of revenue %s (%d invoices)  \n**Open incidents:** %d",
		s.Stage, m.ForecastMarginPct.StringFixed(2), m.TargetMarginPct.StringFixed(2), s.Alerted,
		m.ActualCost.StringFixed(2), s.Terms.Currency, m.Revenue.StringFixed(2), s.Ledger.Invoices, s.OpenIncidents())
	if h := w.Health.String(); h != "" {
		details += "  \n**Failing:** " + h
	}
	if details == w.published {
		return
	}
	w.published = details
	workflow.SetCurrentDetails(ctx, details)
	t := s.Terms
	attrs := []temporal.SearchAttributeUpdate{
		SADealStage.ValueSet(string(s.Stage)), SADealClient.ValueSet(t.Client), SADealAE.ValueSet(t.People.AE),
		SADealPM.ValueSet(t.People.PM), SAMarginStatus.ValueSet(s.Alerted), SAOpenIncidents.ValueSet(int64(s.OpenIncidents())),
		SADealHealth.ValueSet(w.Health.Keyword()),
	}
	// The float is for filtering in the UI only; one that cannot be encoded
	// must not keep the others from updating.
	if f := m.ForecastMarginPct.InexactFloat64(); !math.IsInf(f, 0) && !math.IsNaN(f) {
		attrs = append(attrs, SAForecastMarginPct.ValueSet(f))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, attrs...); err != nil {
		workflow.GetLogger(ctx).Error("search attributes not updated", "error", err)
	}
}

// Summary is the static one-line summary shown in the Temporal UI.
func Summary(t deal.Terms, names deal.Names) string {
	return fmt.Sprintf("%s / %s (AE %s, PM %s)", t.Client, t.Workstream, names.Show(t.People.AE), names.Show(t.People.PM))
}

func initialSearchAttributes(t deal.Terms) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(SADealStage.ValueSet(string(deal.Discovery)), SADealClient.ValueSet(t.Client),
		SADealAE.ValueSet(t.People.AE), SADealPM.ValueSet(t.People.PM), SAMarginStatus.ValueSet(deal.OnTrack),
		SAOpenIncidents.ValueSet(0), SADealHealth.ValueSet("ok"))
}
