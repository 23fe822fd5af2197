package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"go.temporal.io/api/serviceerror"

	"dealflow/db/dbq"
	"dealflow/deal"
	"dealflow/workflows"
)

// The deal properties the bridge reads (docs/hubspot.md lists them).
const (
	propStage    = "dealstage"
	propOwner    = "hubspot_owner_id"
	propAmount   = "amount"
	propCurrency = "deal_currency_code"
	propName     = "dealname"
	propClose    = "closedate"
	propMargin   = "dealflow_target_margin_pct"
	propStart    = "dealflow_start_date"
	propEnd      = "dealflow_end_date"
	propSignoff  = "dealflow_client_signoff"
	propChannel  = "dealflow_slack_channel"
	propPresales = "dealflow_presales_email"
	propPricing  = "dealflow_pricing_approver_email"
	propPM       = "dealflow_pm_email"
	propGM       = "dealflow_gm_email"
)

// TermProperties are read when a deal opens; edits to them afterwards do
// not change the deal.
var TermProperties = []string{propAmount, propCurrency, propName, propClose, propOwner, propMargin, propStart, propEnd,
	propSignoff, propChannel, propPresales, propPricing, propPM, propGM}

// defaultDays is how long a deal runs when dealflow_end_date is empty.
const defaultDays = 90

// maxEventsPerPass bounds one pass over the stored events.
const maxEventsPerPass = 500

// DealID is the dealflow deal a HubSpot deal opens.
func DealID(objectID int64) string { return "hs-" + strconv.FormatInt(objectID, 10) }

// applyPending applies the stored events due, oldest occurrence first. An
// event that cannot be applied now (HubSpot, Slack or Temporal failing) is
// tried again later, and the later events of its deal wait behind it.
func (b *Bridge) applyPending(ctx context.Context) error {
	q := b.Store.Queries()
	events, err := q.PendingHubSpotEvents(ctx, maxEventsPerPass)
	if err != nil {
		return err
	}
	blocked := map[int64]bool{}
	for _, e := range events {
		if blocked[e.ObjectID] {
			continue
		}
		outcome, err := b.apply(ctx, e)
		if err != nil && permanent(err) {
			outcome, err = "failed: "+err.Error(), nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			blocked[e.ObjectID] = true
			after := min(float64(int(1)<<min(e.Attempts, 8)), 300)
			b.Log.Warn("hubspot event not applied yet", "object", e.ObjectID, "event", e.EventID, "error", err, "retry_in_s", after)
			if err := q.RetryHubSpotEvent(ctx, dbq.RetryHubSpotEventParams{PortalID: e.PortalID, SubscriptionID: e.SubscriptionID,
				EventID: e.EventID, ObjectID: e.ObjectID, OccurredAt: e.OccurredAt, Outcome: "retrying: " + err.Error(), AfterSeconds: after}); err != nil {
				return err
			}
			continue
		}
		if err := q.FinishHubSpotEvent(ctx, dbq.FinishHubSpotEventParams{PortalID: e.PortalID, SubscriptionID: e.SubscriptionID,
			EventID: e.EventID, ObjectID: e.ObjectID, OccurredAt: e.OccurredAt, Outcome: outcome}); err != nil {
			return err
		}
	}
	return nil
}

// eventKey names an event for the notes it causes.
func eventKey(e dbq.HubspotEvent) string {
	return fmt.Sprintf("event:%d:%d:%d:%d", e.PortalID, e.SubscriptionID, e.EventID, e.OccurredAt)
}

// apply applies one event and says what it did. An error is tried again.
func (b *Bridge) apply(ctx context.Context, e dbq.HubspotEvent) (string, error) {
	if e.ChangeSource == "INTEGRATION" && e.AppID != 0 && e.SourceID == strconv.FormatInt(e.AppID, 10) {
		// dealflow's own write (through this app's token) coming back.
		return "echo of dealflow's own write", nil
	}
	link, err := b.Store.Queries().GetHubSpotDeal(ctx, e.ObjectID)
	linked := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", err
	}
	open := linked && link.State == "open"
	switch {
	case e.SubscriptionType == "deal.creation" && !linked:
		return b.tryOpen(ctx, e, false)
	case e.SubscriptionType != "deal.propertyChange":
		return "not a change the bridge follows", nil
	case e.PropertyName == propStage && open:
		return b.stageChange(ctx, e, link)
	case e.PropertyName == propStage && e.PropertyValue == b.Config.Stages.ID("discovery"):
		return b.tryOpen(ctx, e, true)
	case !linked:
		return "not a dealflow deal", nil
	case !open:
		// Waiting for a term or a person: this edit may be the one missing.
		return b.tryOpen(ctx, e, true)
	case slices.Contains(TermProperties, e.PropertyName):
		var opened map[string]string
		if err := json.Unmarshal(link.OpenedWith, &opened); err != nil {
			return "", err
		}
		if opened[e.PropertyName] == strings.TrimSpace(e.PropertyValue) {
			return "the value the deal opened with", nil
		}
		body := fmt.Sprintf("%s changed in HubSpot after dealflow opened deal %s. The deal keeps the terms and people it opened with; "+
			"to change what was sold, record a change order in dealflow (signal change_order).", e.PropertyName, link.DealID)
		return "terms kept; noted", b.note(ctx, e.ObjectID, eventKey(e), body)
	}
	return "not a property the bridge reads", nil
}

// stageChange answers a move of an open deal's pipeline stage. Only the
// owner's move to won or lost is the close, and only if dealflow takes it;
// anything else goes back to the stage dealflow says, with a note.
func (b *Bridge) stageChange(ctx context.Context, e dbq.HubspotEvent, link dbq.HubspotDeal) (string, error) {
	if e.OccurredAt < link.StageEventAt {
		return "stale: a later stage change was applied", nil
	}
	st, err := workflows.Record(ctx, b.Temporal, link.DealID)
	if err != nil {
		return "", err
	}
	stages := b.Config.Stages
	want := stages.For(st.Deal.Stage)
	if e.PropertyValue == want {
		return "in step with dealflow", b.stageSeen(ctx, e)
	}
	key := stages.Key(e.PropertyValue)
	owner := "userId:" + link.OwnerUserID
	switch {
	case (key == "won" || key == "lost") && link.OwnerUserID != "" && e.SourceID == owner:
		payload, _ := json.Marshal(deal.CloseSignal{Outcome: key, By: st.Deal.Terms.People.AE, Reason: "moved to " + key + " in HubSpot"})
		res, err := workflows.Send(ctx, b.Temporal, link.DealID, deal.SigClose, payload)
		if err != nil {
			return "", err
		}
		if res.Status != deal.Refused {
			return "closed " + key + " (" + res.Status + ")", b.stageSeen(ctx, e)
		}
		// The gate: dealflow says where the deal stands.
		return b.moveBack(ctx, e, link, want, fmt.Sprintf("dealflow did not take this close: %s", res.Reason))
	case key == "won" || key == "lost":
		return b.moveBack(ctx, e, link, want, fmt.Sprintf("Only the deal's owner closes it: a move to %s counts as the AE's close in dealflow "+
			"when the owner makes it, and this one came from %s.", key, describeSource(e)))
	}
	return b.moveBack(ctx, e, link, want, fmt.Sprintf("dealflow moves this deal's stage as its sign-offs happen (it is at %s there).", st.Deal.Stage))
}

func describeSource(e dbq.HubspotEvent) string {
	switch {
	case e.SourceID != "" && e.ChangeSource != "":
		return e.ChangeSource + " " + e.SourceID
	case e.ChangeSource != "":
		return e.ChangeSource
	case e.SourceID != "":
		return e.SourceID
	}
	return "an unnamed source"
}

func (b *Bridge) stageSeen(ctx context.Context, e dbq.HubspotEvent) error {
	return b.Store.Queries().SetHubSpotStageEvent(ctx, dbq.SetHubSpotStageEventParams{ObjectID: e.ObjectID, OccurredAt: e.OccurredAt})
}

// moveBack puts the pipeline stage back where dealflow stands and notes
// why on the deal's timeline.
func (b *Bridge) moveBack(ctx context.Context, e dbq.HubspotEvent, link dbq.HubspotDeal, to, why string) (string, error) {
	id := strconv.FormatInt(e.ObjectID, 10)
	if err := b.API.UpdateDeals(ctx, []DealUpdate{{ID: id, Properties: map[string]string{propStage: to}}}); err != nil {
		return "", err
	}
	if err := b.Store.Queries().SetHubSpotShownStage(ctx, dbq.SetHubSpotShownStageParams{DealID: link.DealID, ShownStage: to}); err != nil {
		return "", err
	}
	if err := b.stageSeen(ctx, e); err != nil {
		return "", err
	}
	body := fmt.Sprintf("Moved back to stage %s: %s", to, why)
	return "moved back to " + to, b.note(ctx, e.ObjectID, eventKey(e), body)
}

// note posts a timeline note once per key.
func (b *Bridge) note(ctx context.Context, objectID int64, key, body string) error {
	q := b.Store.Queries()
	done, err := q.HubSpotNotePosted(ctx, dbq.HubSpotNotePostedParams{ObjectID: objectID, NoteKey: key})
	if err != nil || done {
		return err
	}
	id, err := b.API.AddNote(ctx, strconv.FormatInt(objectID, 10), body, time.Now())
	if err != nil {
		return err
	}
	return q.RecordHubSpotNote(ctx, dbq.RecordHubSpotNoteParams{ObjectID: objectID, NoteKey: key, NoteID: id})
}

// readProperties are what opening a deal reads.
var readProperties = append([]string{propStage}, TermProperties...)

// tryOpen opens the dealflow deal of a HubSpot deal that entered discovery
// (or was waiting), or notes on its timeline what it still lacks.
func (b *Bridge) tryOpen(ctx context.Context, e dbq.HubspotEvent, entered bool) (string, error) {
	id := strconv.FormatInt(e.ObjectID, 10)
	d, err := b.API.GetDeal(ctx, id, readProperties)
	if err != nil {
		return "", err
	}
	link, lerr := b.Store.Queries().GetHubSpotDeal(ctx, e.ObjectID)
	waiting := lerr == nil
	if !waiting && !errors.Is(lerr, pgx.ErrNoRows) {
		return "", lerr
	}
	if waiting && link.State == "open" {
		return "already open", nil
	}
	if !waiting && !entered && d.Prop(propStage) != b.Config.Stages.ID("discovery") {
		return "not in the discovery stage", nil
	}
	in, ownerUser, missing, err := b.terms(ctx, e.ObjectID, d)
	if err != nil {
		return "", err
	}
	read := map[string]string{}
	for _, p := range TermProperties {
		read[p] = d.Prop(p)
	}
	openedWith, _ := json.Marshal(read)
	q := b.Store.Queries()
	dealID := DealID(e.ObjectID)
	if len(missing) > 0 {
		list := strings.Join(missing, "; ")
		if err := q.UpsertHubSpotDeal(ctx, dbq.UpsertHubSpotDealParams{ObjectID: e.ObjectID, DealID: dealID, PortalID: e.PortalID,
			State: "waiting", Missing: list, OwnerUserID: ownerUser, OpenedWith: []byte("{}")}); err != nil {
			return "", err
		}
		body := "dealflow cannot open this deal yet. Missing or not valid: " + list +
			". It opens as soon as these are filled in (docs/hubspot.md lists every property)."
		return "waiting: " + list, b.note(ctx, e.ObjectID, "missing:"+list, body)
	}
	// Linked first, so the deal's first write already finds its mirror row.
	if err := q.UpsertHubSpotDeal(ctx, dbq.UpsertHubSpotDealParams{ObjectID: e.ObjectID, DealID: dealID, PortalID: e.PortalID,
		State: "opening", OwnerUserID: ownerUser, OpenedWith: openedWith}); err != nil {
		return "", err
	}
	_, err = workflows.OpenDeal(ctx, b.Temporal, b.TaskQueue, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return "", err
	}
	if err := q.UpsertHubSpotDeal(ctx, dbq.UpsertHubSpotDealParams{ObjectID: e.ObjectID, DealID: dealID, PortalID: e.PortalID,
		State: "open", OwnerUserID: ownerUser, OpenedWith: openedWith}); err != nil {
		return "", err
	}
	return "opened " + dealID, nil
}

// terms reads a deal's terms and people. missing lists what is absent or
// wrong, in words for the timeline note; an error is a failure to read.
func (b *Bridge) terms(ctx context.Context, objectID int64, d *Deal) (workflows.Input, string, []string, error) {
	var missing []string
	need := func(prop string) string {
		v := d.Prop(prop)
		if v == "" {
			missing = append(missing, prop)
		}
		return v
	}
	t := deal.Terms{DealID: DealID(objectID), Workstream: need(propName), Currency: need(propCurrency),
		SlackChannel: d.Prop(propChannel)}
	if v := need(propAmount); v != "" {
		t.ContractValue, missing = number(v, propAmount, missing)
	}
	if v := need(propMargin); v != "" {
		t.TargetMarginPct, missing = number(v, propMargin, missing)
	}
	if v := d.Prop(propSignoff); v != "" {
		t.ClientSignoff = strings.Split(v, ";")
	}
	// Dates: the deal's own, else the close date and 90 days after.
	start, end := d.Prop(propStart), d.Prop(propEnd)
	if start == "" {
		start = d.Prop(propClose)
	}
	if sd, ok := parseDate(start); ok {
		t.StartDate = sd
		t.EndDate = deal.Date{Time: sd.AddDate(0, 0, defaultDays)}
	} else {
		missing = append(missing, propStart+" (or "+propClose+")")
	}
	if end != "" {
		if ed, ok := parseDate(end); ok {
			t.EndDate = ed
		} else {
			missing = append(missing, propEnd+" (a date)")
		}
	}
	// The client: the first associated company's name.
	if cos := d.Associations["companies"].Results; len(cos) == 0 {
		missing = append(missing, "an associated company (the client)")
	} else {
		name, err := b.API.CompanyName(ctx, cos[0].ID)
		if err != nil {
			return workflows.Input{}, "", nil, err
		}
		if name == "" {
			missing = append(missing, "the company's name")
		}
		t.Client = name
	}
	// People: the owner is the AE; the others by email.
	var ownerUser string
	if oid := need(propOwner); oid != "" {
		o, err := b.API.GetOwner(ctx, oid)
		if err != nil && !permanent(err) {
			return workflows.Input{}, "", nil, err
		}
		if err != nil || o.Email == "" {
			missing = append(missing, "the deal owner's email")
		} else {
			ownerUser = strconv.FormatInt(o.UserID, 10)
			if t.People.AE, missing, err = b.slackUser(ctx, o.Email, "the deal owner", missing); err != nil {
				return workflows.Input{}, "", nil, err
			}
		}
	}
	for _, p := range []struct {
		prop string
		to   *string
	}{{propPresales, &t.People.Presales}, {propPricing, &t.People.PricingApprover}, {propPM, &t.People.PM}, {propGM, &t.People.GM}} {
		email := need(p.prop)
		if email == "" {
			continue
		}
		var err error
		if *p.to, missing, err = b.slackUser(ctx, email, p.prop, missing); err != nil {
			return workflows.Input{}, "", nil, err
		}
	}
	if len(missing) > 0 {
		return workflows.Input{}, ownerUser, missing, nil
	}
	in := workflows.Input{Terms: t}
	if err := in.Normalize(); err != nil {
		return workflows.Input{}, ownerUser, []string{err.Error()}, nil
	}
	return in, ownerUser, nil, nil
}

func number(v, prop string, missing []string) (decimal.Decimal, []string) {
	d, err := decimal.NewFromString(v)
	if err != nil {
		return decimal.Zero, append(missing, prop+" (a number)")
	}
	return d, missing
}

func (b *Bridge) slackUser(ctx context.Context, email, who string, missing []string) (string, []string, error) {
	id, err := b.People.SlackUserByEmail(ctx, email)
	if err != nil {
		return "", missing, err
	}
	if id == "" {
		missing = append(missing, fmt.Sprintf("a Slack user for %s (%s)", who, email))
	}
	return id, missing, nil
}

// parseDate reads a HubSpot date (YYYY-MM-DD), datetime (ISO 8601) or
// milliseconds since the epoch, as the day it falls on in UTC.
func parseDate(s string) (deal.Date, bool) {
	if s == "" {
		return deal.Date{}, false
	}
	if d, err := deal.ParseDate(s); err == nil {
		return d, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t = t.UTC()
		return deal.NewDate(t.Year(), t.Month(), t.Day()), true
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		t := time.UnixMilli(ms).UTC()
		return deal.NewDate(t.Year(), t.Month(), t.Day()), true
	}
	return deal.Date{}, false
}
