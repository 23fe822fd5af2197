package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"dealflow/activities"
	"dealflow/activities/slackfake"
	"dealflow/db/dbtest"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/hubspot"
	"dealflow/hubspot/hubspottest"
	"dealflow/workflows"
)

const (
	hsToken   = "pat-na1-test-token"
	hsSecret  = "hubspot-client-secret-for-tests"
	hsBaseURL = "https://dealflow.example.com"
	hsStages  = "discovery=appt,scoping=qualified,proposal=prop,pricing=price,closing=contract,won=closedwon,lost=closedlost"
	// HubSpot owner 501 is the AE (HubSpot user 70001); user 70002 is
	// someone else.
	hsOwner, hsAEUser, hsOtherUser = "501", int64(70001), int64(70002)
)

// hsEnv is a worker with Slack and HubSpot both fakes, HubSpot set up
// (`starter hubspot setup`) and sending its webhooks to the worker as to
// https://dealflow.example.com behind a proxy.
type hsEnv struct {
	s    *Server
	fake *slackfake.Server
	hs   *hubspottest.Server
}

func hubspotServer(t *testing.T, hooks hubspottest.Webhooks) *hsEnv {
	t.Helper()
	hs := hubspottest.New(hsToken, "appt", "qualified", "prop", "price", "contract", "closedwon", "closedlost")
	t.Cleanup(hs.Close)
	stages, err := hubspot.ParseStages(hsStages)
	if err != nil {
		t.Fatal(err)
	}
	cfg := hubspot.Config{Token: hsToken, ClientSecret: hsSecret, APIURL: hs.URL, BaseURL: hsBaseURL, Stages: stages}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	if err := hubspot.Setup(context.Background(), hubspot.NewClient(cfg), stages, "default", io.Discard); err != nil {
		t.Fatal(err)
	}
	s, fake := slackServer(t, func(c *Config) {
		c.HubSpot, c.BaseURL, c.HubSpotPollEvery = cfg, hsBaseURL, 100*time.Millisecond
	})
	for email, id := range map[string]string{"ae@example.com": dealtest.AE, "presales@example.com": dealtest.Presales,
		"pricing@example.com": dealtest.Pricing, "pm@example.com": dealtest.PM, "gm@example.com": dealtest.GM} {
		fake.SetEmail(id, email)
	}
	fake.SetUser(dealtest.PM, "pm", "Pat Morgan")
	hs.AddOwner(hsOwner, hsAEUser, "ae@example.com")
	hs.AddCompany("c-acme", "Acme")
	hooks.Target = "http://" + s.Addr + "/hubspot/webhook"
	hooks.SignedURL = hsBaseURL + "/hubspot/webhook"
	hooks.Secret = hsSecret
	hooks.Properties = append([]string{"dealstage"}, hubspot.TermProperties...)
	hs.Subscribe(hooks)
	return &hsEnv{s: s, fake: fake, hs: hs}
}

// hsDealProps are a complete HubSpot deal in the discovery stage.
func hsDealProps() map[string]string {
	return map[string]string{
		"dealname": "Data platform", "amount": "120000", "deal_currency_code": "EUR",
		"closedate":                  time.Now().UTC().Format(time.DateOnly),
		"dealflow_target_margin_pct": "30", "dealflow_slack_channel": "C_DEALS",
		"dealflow_presales_email": "presales@example.com", "dealflow_pricing_approver_email": "pricing@example.com",
		"dealflow_pm_email": "pm@example.com", "dealflow_gm_email": "gm@example.com",
		"hubspot_owner_id": hsOwner, "dealstage": "appt",
	}
}

func (e *hsEnv) createDeal(t *testing.T, props map[string]string) (objectID, dealID string) {
	t.Helper()
	id, err := e.hs.CreateDeal(hsAEUser, "c-acme", props)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	return id, hubspot.DealID(n)
}

// waitOpen waits for the dealflow deal to run.
func (e *hsEnv) waitOpen(t *testing.T, dealID string) *workflows.Status {
	t.Helper()
	var st *workflows.Status
	dealtest.Eventually(t, "deal "+dealID+" to open", func() bool {
		var err error
		st, err = workflows.Record(context.Background(), e.s.Client, dealID)
		return err == nil
	})
	return st
}

// waitShows waits for the HubSpot deal to show every given property value.
func (e *hsEnv) waitShows(t *testing.T, objectID string, want map[string]string) map[string]string {
	t.Helper()
	var got map[string]string
	dealtest.Eventually(t, fmt.Sprintf("HubSpot deal %s to show %v", objectID, want), func() bool {
		got = e.hs.Deal(objectID)
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	})
	return got
}

// waitNote waits for a note on the deal saying want, and returns how many
// notes the deal has.
func (e *hsEnv) waitNote(t *testing.T, objectID, want string) int {
	t.Helper()
	var n int
	dealtest.Eventually(t, fmt.Sprintf("a note on %s saying %q", objectID, want), func() bool {
		notes := e.hs.Notes(objectID)
		n = len(notes)
		for _, nt := range notes {
			if strings.Contains(nt.Body, want) {
				return true
			}
		}
		return false
	})
	return n
}

func (e *hsEnv) move(t *testing.T, objectID string, user int64, stage string) {
	t.Helper()
	if err := e.hs.UserSets(objectID, "CRM_UI", fmt.Sprintf("userId:%d", user), map[string]string{"dealstage": stage}); err != nil {
		t.Fatal(err)
	}
}

// TestHubSpotDealEndToEnd is the scenario: a HubSpot deal opens the
// dealflow deal, the sign-offs happen in Slack, the gate holds against
// HubSpot (the owner's early close and another user's close are moved back
// with notes), the owner's close after pricing is the close, and HubSpot
// shows delivery and the margin as they change.
func TestHubSpotDealEndToEnd(t *testing.T) {
	e := hubspotServer(t, hubspottest.Webhooks{})
	s, fake := e.s, e.fake
	ss := &slackSession{t: t, s: s, fake: fake, told: map[string]int{}}
	const pre, ae, pricer, pm = dealtest.Presales, dealtest.AE, dealtest.Pricing, dealtest.PM

	// 1. The deal enters discovery in HubSpot: the dealflow deal opens with
	// HubSpot's terms and people, and HubSpot shows it.
	obj, id := e.createDeal(t, hsDealProps())
	st := e.waitOpen(t, id)
	terms := st.Deal.Terms
	if terms.Client != "Acme" || terms.Workstream != "Data platform" || !terms.ContractValue.Equal(decimal.NewFromInt(120000)) ||
		terms.Currency != "EUR" || terms.People.AE != ae || terms.People.PM != pm || terms.SlackChannel != "C_DEALS" {
		t.Fatalf("terms %+v", terms)
	}
	if got := terms.EndDate.Sub(terms.StartDate.Time); got != 90*24*time.Hour {
		t.Fatalf("the deal runs %s, want 90 days after the close date", got)
	}
	e.waitShows(t, obj, map[string]string{"dealflow_stage": "discovery", "dealstage": "appt", "dealflow_url": hsBaseURL + "/deals/" + id})

	// 2. Sign-offs through Slack clicks, up to pricing.
	d := slackTicketMessage(t, fake, "discovery", activities.ActionApprove)
	ss.done(pre, ss.submit(pre, ss.open(pre, d, activities.ActionApprove), deliverable("https://docs.example.com/discovery")...))
	sc := slackTicketMessage(t, fake, "scoping", activities.ActionApprove)
	ss.done(pre, ss.submit(pre, ss.open(pre, sc, activities.ActionApprove), deliverable("https://docs.example.com/scoping")...))
	p := slackTicketMessage(t, fake, "proposal", activities.ActionApprove)
	ss.done(ae, ss.submit(ae, ss.open(ae, p, activities.ActionApprove), deliverable("https://docs.example.com/proposal")...))
	e.waitShows(t, obj, map[string]string{"dealflow_stage": "pricing", "dealstage": "price"})

	// 3. The owner closes won before pricing is signed off: the gate moves
	// the deal back, with dealflow's reason. Another user's close is moved
	// back too, saying only the owner closes.
	e.move(t, obj, hsAEUser, "closedwon")
	e.waitNote(t, obj, "can be won only once pricing is signed off")
	e.waitShows(t, obj, map[string]string{"dealstage": "price"})
	e.move(t, obj, hsOtherUser, "closedwon")
	e.waitNote(t, obj, "Only the deal's owner closes it")
	e.waitShows(t, obj, map[string]string{"dealstage": "price"})
	if st, _ := workflows.Record(context.Background(), s.Client, id); st.Deal.Stage != deal.Pricing || st.Deal.Close != nil {
		t.Fatalf("after the refused closes the deal is at %s, close %+v", st.Deal.Stage, st.Deal.Close)
	}

	// 4. Pricing is signed off, the owner closes won, the PM signs the
	// handover in Slack.
	pr := slackTicketMessage(t, fake, "pricing", activities.ActionApprove)
	ss.done(pricer, ss.submit(pricer, ss.open(pricer, pr, activities.ActionApprove), deliverable("https://docs.example.com/pricing")...))
	e.waitShows(t, obj, map[string]string{"dealflow_stage": "closing", "dealstage": "contract"})
	e.move(t, obj, hsAEUser, "closedwon")
	ho := slackMessage(t, fake, "the PM's handover checklist", func(m slackfake.Message) bool {
		_, ok := slackfake.FindButton(m.Blocks, activities.ActionHandoverSignoff)
		return ok
	})
	view := ss.open(pm, ho, activities.ActionHandoverSignoff)
	ss.done(pm, ss.submit(pm, view,
		slackfake.Input{BlockID: blockReviewed, ActionID: actionCheck, Type: "checkboxes", Selected: []string{"yes"}},
		slackfake.Input{BlockID: blockAmbig, ActionID: actionAmbig, Value: "none"},
		slackfake.Input{BlockID: blockResources, ActionID: actionCheck, Type: "checkboxes", Selected: []string{"yes"}}))

	// 5. HubSpot stays closed won and shows delivery, the margin and who
	// signed the handover.
	got := e.waitShows(t, obj, map[string]string{"dealstage": "closedwon", "dealflow_stage": "in_progress", "dealflow_health": "ok"})
	if !strings.Contains(got["dealflow_handover_signed_by"], pm) || got["dealflow_handover_signed_at"] == "" ||
		got["dealflow_forecast_margin_pct"] == "" {
		t.Fatalf("HubSpot shows %v", got)
	}
	if st, _ := workflows.Record(context.Background(), s.Client, id); st.Deal.Close == nil || st.Deal.Close.By != ae {
		t.Fatalf("the close is %+v, want the AE's", st.Deal.Close)
	}

	// 6. An invoice changes the forecast; HubSpot shows it.
	before := got["dealflow_forecast_margin_pct"]
	inv, _ := json.Marshal(map[string]any{"invoice_id": "inv-1", "category": "subcontractor", "amount": "30000", "currency": "EUR",
		"date": time.Now().UTC().Format(time.DateOnly)})
	res, err := workflows.SendInvoices(context.Background(), s.Client, id, workflows.InvoiceBatch{Invoices: []json.RawMessage{inv}})
	if err != nil || res[0].Status != deal.Accepted {
		t.Fatalf("invoice: %v %+v", err, res)
	}
	start := time.Now()
	got = e.waitShows(t, obj, map[string]string{"dealflow_actual_cost": "30000.00"})
	t.Logf("HubSpot showed the invoice %s after it was taken", time.Since(start).Round(time.Millisecond))
	if got["dealflow_forecast_margin_pct"] == before || got["dealstage"] != "closedwon" {
		t.Fatalf("after the invoice HubSpot shows %v", got)
	}
	if _, failed, _ := e.hs.WebhookCounts(); failed != 0 {
		t.Fatalf("%d webhook calls were refused", failed)
	}
	// The mirror's stage writes came back as events and were ignored as
	// dealflow's own; no event failed.
	var echoes, failed int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE outcome = 'echo of dealflow''s own write'),
		count(*) FILTER (WHERE outcome LIKE 'failed%' OR applied_at IS NULL) FROM hubspot_events`).Scan(&echoes, &failed); err != nil || echoes < 4 || failed != 0 {
		t.Fatalf("%d echoes, %d failed or unapplied events (%v)", echoes, failed, err)
	}
	if n := e.hs.Refused("400"); n != 0 {
		t.Fatalf("HubSpot refused %d calls as invalid", n)
	}
}

// hsPost sends events to the worker's webhook signed as HubSpot signs them
// for the public URL, and returns the status.
func (e *hsEnv) hsPost(t *testing.T, events ...hubspot.Event) int {
	t.Helper()
	body, _ := json.Marshal(events)
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	req, _ := http.NewRequest(http.MethodPost, "http://"+e.s.Addr+"/hubspot/webhook", bytes.NewReader(body))
	req.Header.Set("X-HubSpot-Request-Timestamp", ts)
	req.Header.Set("X-HubSpot-Signature-v3", hubspot.Sign(hsSecret, http.MethodPost, hsBaseURL+"/hubspot/webhook", body, ts))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// outcome waits for an event to be applied and returns what was done.
func (e *hsEnv) outcome(t *testing.T, ev hubspot.Event) string {
	t.Helper()
	var out string
	dealtest.Eventually(t, fmt.Sprintf("event %d/%d to be applied", ev.EventID, ev.OccurredAt), func() bool {
		err := e.s.Pool.QueryRow(context.Background(), `SELECT outcome FROM hubspot_events WHERE portal_id = $1 AND subscription_id = $2
			AND event_id = $3 AND object_id = $4 AND occurred_at = $5 AND applied_at IS NOT NULL`,
			ev.PortalID, ev.SubscriptionID, ev.EventID, ev.ObjectID, ev.OccurredAt).Scan(&out)
		return err == nil
	})
	return out
}

func notesSaying(notes []hubspottest.Note, want string) int {
	n := 0
	for _, nt := range notes {
		if strings.Contains(nt.Body, want) {
			n++
		}
	}
	return n
}

// TestHubSpotEventsDedupedOrderedAndEchoesIgnored: a retried call applies
// nothing twice, an eventId reused with another occurrence time is another
// event, events are applied in the order they occurred (not arrived), a
// stage event older than one applied is stale, and dealflow's own writes
// coming back are ignored.
func TestHubSpotEventsDedupedOrderedAndEchoesIgnored(t *testing.T) {
	e := hubspotServer(t, hubspottest.Webhooks{OutOfOrder: true, Twice: true})
	obj, id := e.createDeal(t, hsDealProps())
	e.waitOpen(t, id)
	e.waitShows(t, obj, map[string]string{"dealflow_stage": "discovery"})
	oid, _ := strconv.ParseInt(obj, 10, 64)
	// The fake delivered every call twice and newest first: one deal, no
	// note asking for anything.
	if n := len(e.hs.Notes(obj)); n != 0 {
		t.Fatalf("the deal has %d notes after opening: %+v", n, e.hs.Notes(obj))
	}
	base := time.Now().UnixMilli()
	ev := func(eventID, at int64, prop, value, source, sourceID string) hubspot.Event {
		return hubspot.Event{EventID: eventID, SubscriptionID: 2001, PortalID: e.hs.PortalID, AppID: e.hs.AppID, OccurredAt: base + at,
			SubscriptionType: "deal.propertyChange", ObjectID: oid, PropertyName: prop, PropertyValue: value,
			ChangeSource: source, SourceID: sourceID}
	}
	owner := fmt.Sprintf("userId:%d", hsAEUser)

	// A retried call: one note.
	amount := ev(1, 1000, "amount", "999", "CRM_UI", owner)
	for range 2 {
		if code := e.hsPost(t, amount); code != http.StatusNoContent {
			t.Fatalf("webhook answered %d", code)
		}
	}
	e.outcome(t, amount)
	// The same eventId at another time is another event.
	name := ev(1, 2000, "dealname", "Renamed", "CRM_UI", owner)
	e.hsPost(t, name)
	e.outcome(t, name)
	notes := e.hs.Notes(obj)
	if notesSaying(notes, "amount changed in HubSpot") != 1 || notesSaying(notes, "dealname changed in HubSpot") != 1 {
		t.Fatalf("notes %+v, want one for amount and one for dealname", notes)
	}

	// Out of order in one call: the owner's early close (refused by the
	// gate, moved back) happened before the move back to discovery.
	early := ev(5, 5000, "dealstage", "closedwon", "CRM_UI", owner)
	back := ev(6, 6000, "dealstage", "appt", "CRM_UI", owner)
	e.hsPost(t, back, early)
	if got := e.outcome(t, early); !strings.HasPrefix(got, "moved back") {
		t.Fatalf("the early close: %q, want moved back", got)
	}
	if got := e.outcome(t, back); got != "in step with dealflow" {
		t.Fatalf("the later move: %q", got)
	}
	// Arriving after a later stage event was applied, an older one is stale.
	stale := ev(4, 4000, "dealstage", "closedlost", "CRM_UI", owner)
	e.hsPost(t, stale)
	if got := e.outcome(t, stale); !strings.HasPrefix(got, "stale") {
		t.Fatalf("the late event: %q, want stale", got)
	}
	// dealflow's own write coming back (this app, INTEGRATION) is ignored,
	// whatever it says.
	echo := ev(7, 7000, "dealstage", "closedwon", "INTEGRATION", strconv.FormatInt(e.hs.AppID, 10))
	e.hsPost(t, echo)
	if got := e.outcome(t, echo); got != "echo of dealflow's own write" {
		t.Fatalf("the echo: %q", got)
	}
	if st, _ := workflows.Record(context.Background(), e.s.Client, id); st.Deal.Stage != deal.Discovery || st.Deal.Close != nil {
		t.Fatalf("the deal is at %s, close %+v", st.Deal.Stage, st.Deal.Close)
	}
	if n := notesSaying(e.hs.Notes(obj), "Moved back"); n != 1 {
		t.Fatalf("%d move-back notes, want 1 (the early close)", n)
	}
}

// TestHubSpotWaitsForMissingTermsAndSurvivesAnOutage: a deal without a PM
// is not opened; its timeline says what is missing, once, and it opens
// when filled in. While HubSpot is down the mirror waits and loses nothing.
func TestHubSpotWaitsForMissingTermsAndSurvivesAnOutage(t *testing.T) {
	e := hubspotServer(t, hubspottest.Webhooks{})
	props := hsDealProps()
	delete(props, "dealflow_pm_email")
	props["dealflow_gm_email"] = "nobody@example.com"
	obj, id := e.createDeal(t, props)
	e.waitNote(t, obj, "dealflow_pm_email")
	n := e.waitNote(t, obj, "a Slack user for dealflow_gm_email (nobody@example.com)")
	if n != 1 {
		t.Fatalf("%d notes, want one listing everything missing", n)
	}
	if _, err := workflows.Record(context.Background(), e.s.Client, id); err == nil {
		t.Fatal("the deal opened without a PM")
	}
	if err := e.hs.UserSets(obj, "CRM_UI", "userId:70001", map[string]string{"dealflow_pm_email": "pm@example.com", "dealflow_gm_email": "gm@example.com"}); err != nil {
		t.Fatal(err)
	}
	e.dumpEventsOnFailure(t)
	e.waitOpen(t, id)
	e.waitShows(t, obj, map[string]string{"dealflow_stage": "discovery"})

	// HubSpot goes down; discovery is signed off; HubSpot shows the new
	// stage once it is back.
	e.hs.Down(true)
	send(t, e.s, id, dealtest.Approve("discovery", dealtest.Presales, "internal"))
	dealtest.Eventually(t, "the mirror to fail against the outage", func() bool { return e.hs.Refused("503") > 0 })
	if got := e.hs.Deal(obj)["dealflow_stage"]; got != "discovery" {
		t.Fatalf("HubSpot shows %s while down", got)
	}
	var waiting int
	if err := e.s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM hubspot_outbox WHERE deal_id = $1", id).Scan(&waiting); err != nil || waiting != 1 {
		t.Fatalf("%d outbox rows during the outage (%v), want the deal's", waiting, err)
	}
	e.hs.Down(false)
	e.waitShows(t, obj, map[string]string{"dealflow_stage": "scoping", "dealstage": "qualified"})
}

// dumpEventsOnFailure logs every stored event and what became of it when
// the test fails.
func (e *hsEnv) dumpEventsOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		rows, err := e.s.Pool.Query(context.Background(), "SELECT event_id, occurred_at, subscription_type, property_name, property_value, attempts, outcome FROM hubspot_events ORDER BY occurred_at, event_id")
		if err != nil {
			t.Log(err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var id, at int64
			var typ, prop, val, outcome string
			var attempts int32
			_ = rows.Scan(&id, &at, &typ, &prop, &val, &attempts, &outcome)
			t.Logf("event %d at %d %s %s=%q attempts %d: %s", id, at, typ, prop, val, attempts, outcome)
		}
	})
}

// TestHubSpotRefusesToStartWithoutSlack: the bridge finds people in Slack;
// with HubSpot on and Slack off the worker does not start, and says why.
func TestHubSpotRefusesToStartWithoutSlack(t *testing.T) {
	dbURL, drop, err := dbtest.CreateDatabase(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	stages, _ := hubspot.ParseStages(hsStages)
	_, err = Start(context.Background(), Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", Temporal: client.Options{HostPort: temporalHostPort},
		TaskQueue: "deals-test-hubspot-noslack", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		HubSpot: hubspot.Config{Token: hsToken, ClientSecret: hsSecret, Stages: stages}})
	if err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN is not set") {
		t.Fatalf("started: %v", err)
	}
}
