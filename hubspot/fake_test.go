package hubspot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"dealflow/hubspot"
	"dealflow/hubspot/hubspottest"
)

const token = "pat-test"

func stages(t testing.TB) hubspot.Stages {
	s, err := hubspot.ParseStages("discovery=appt,pricing=price,closing=contract,won=closedwon,lost=closedlost")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fakeAndClient(t testing.TB, burst int, every time.Duration) (*hubspottest.Server, *hubspot.Client, hubspot.Config) {
	fake := hubspottest.New(token, "appt", "price", "contract", "closedwon", "closedlost")
	t.Cleanup(fake.Close)
	fake.Burst, fake.BurstEvery = burst, every
	cfg := hubspot.Config{Token: token, ClientSecret: "s", APIURL: fake.URL, Stages: stages(t), Burst: burst, BurstEvery: every}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	return fake, hubspot.NewClient(cfg), cfg
}

func raw(t *testing.T, url, tok, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

// TestFakeIsStrict: the fake refuses what HubSpot refuses, the way HubSpot
// does, and keeps what it takes.
func TestFakeIsStrict(t *testing.T) {
	fake, c, cfg := fakeAndClient(t, 100, 10*time.Second)
	if err := hubspot.Setup(context.Background(), c, cfg.Stages, "default", new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	id, err := fake.CreateDeal(1, "", map[string]string{"dealname": "x", "dealstage": "appt"})
	if err != nil {
		t.Fatal(err)
	}
	batch := fake.URL + "/crm/v3/objects/deals/batch/update"
	input := func(props string) string { return fmt.Sprintf(`{"inputs":[{"id":%q,"properties":%s}]}`, id, props) }
	var many []string
	for range 101 {
		many = append(many, fmt.Sprintf(`{"id":%q,"properties":{"dealname":"y"}}`, id))
	}
	cases := []struct {
		name, tok, body string
		status          int
		category, says  string
	}{
		{"bad token", "pat-wrong", input(`{"dealname":"y"}`), 401, "INVALID_AUTHENTICATION", "credentials"},
		{"101 inputs", token, `{"inputs":[` + strings.Join(many, ",") + `]}`, 400, "VALIDATION_ERROR", "cannot exceed 100"},
		{"unknown property", token, input(`{"dealflow_nonsense":"1"}`), 400, "VALIDATION_ERROR", "PROPERTY_DOESNT_EXIST"},
		{"text in a number", token, input(`{"dealflow_forecast_margin_pct":"about 30"}`), 400, "VALIDATION_ERROR", "INVALID_DECIMAL"},
		{"unknown stage", token, input(`{"dealstage":"nowhere"}`), 400, "VALIDATION_ERROR", "INVALID_OPTION"},
		{"unknown option", token, input(`{"dealflow_stage":"somewhere"}`), 400, "VALIDATION_ERROR", "INVALID_OPTION"},
		{"a date that is not one", token, input(`{"dealflow_start_date":"04/12/2026"}`), 400, "VALIDATION_ERROR", "INVALID_DATE"},
		{"unknown deal", token, `{"inputs":[{"id":"1","properties":{"dealname":"y"}}]}`, 404, "OBJECT_NOT_FOUND", "Could not find"},
		{"valid", token, input(`{"dealflow_forecast_margin_pct":"28.50","dealflow_stage":"pricing","dealstage":"price","dealflow_start_date":"2026-12-04"}`), 200, "", ""},
	}
	for _, c := range cases {
		status, body, _ := raw(t, batch, c.tok, c.body)
		if status != c.status || (c.category != "" && (body["category"] != c.category || !strings.Contains(fmt.Sprint(body["message"]), c.says))) {
			t.Errorf("%s: %d %v, want %d %s saying %s", c.name, status, body, c.status, c.category, c.says)
		}
	}
	if got := fake.Deal(id); got["dealflow_forecast_margin_pct"] != "28.50" || got["dealstage"] != "price" || got["dealname"] != "x" {
		t.Fatalf("the fake keeps %v", got)
	}
}

// TestBurstLimit: past the burst the fake answers 429 with Retry-After;
// the client keeps within the limit, so its calls all pass.
func TestBurstLimit(t *testing.T) {
	fake, c, _ := fakeAndClient(t, 5, 1500*time.Millisecond)
	id, _ := fake.CreateDeal(1, "", map[string]string{"dealname": "x"})
	for range 5 {
		if status, _, _ := raw(t, fake.URL+"/crm/v3/objects/deals/batch/update", token, `{"inputs":[]}`); status != 200 {
			t.Fatalf("within the burst: %d", status)
		}
	}
	status, body, h := raw(t, fake.URL+"/crm/v3/objects/deals/batch/update", token, `{"inputs":[]}`)
	if status != 429 || h.Get("Retry-After") == "" || body["policyName"] != "TEN_SECONDLY_ROLLING" {
		t.Fatalf("past the burst: %d %v Retry-After %q", status, body, h.Get("Retry-After"))
	}
	// The client meets the fake's window full: it waits as told, then
	// paces itself.
	for i := range 12 {
		if err := c.UpdateDeals(context.Background(), []hubspot.DealUpdate{{ID: id, Properties: map[string]string{"dealname": fmt.Sprint(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := fake.Deal(id)["dealname"]; got != "11" {
		t.Fatalf("dealname %q after 12 writes", got)
	}
	if n := fake.Refused("429"); n > 2 {
		t.Fatalf("the client drew %d 429s; it should wait out the one window it met full", n)
	}
}

// TestDailyLimit: a spent day stops the client without calling.
func TestDailyLimit(t *testing.T) {
	fake, _, cfg := fakeAndClient(t, 100, 10*time.Second)
	cfg.DailyLimit = 3
	c := hubspot.NewClient(cfg)
	id, _ := fake.CreateDeal(1, "", map[string]string{"dealname": "x"})
	var err error
	for range 4 {
		err = c.UpdateDeals(context.Background(), []hubspot.DealUpdate{{ID: id, Properties: map[string]string{"dealname": "y"}}})
	}
	if err != hubspot.ErrDailyLimit || c.Calls() != 3 || fake.Calls("batch_update") != 3 {
		t.Fatalf("4th call: %v after %d calls (fake took %d)", err, c.Calls(), fake.Calls("batch_update"))
	}
}

// TestSetupIsIdempotent: the first run creates the group and properties,
// the second only reads; a missing stage is named.
func TestSetupIsIdempotent(t *testing.T) {
	fake, c, cfg := fakeAndClient(t, 100, 10*time.Second)
	var out bytes.Buffer
	if err := hubspot.Setup(context.Background(), c, cfg.Stages, "default", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "created property group dealflow") || strings.Count(out.String(), "created property dealflow_") != len(hubspot.Properties) {
		t.Fatalf("first run said:\n%s", out.String())
	}
	if p, ok := fake.Property("dealflow_client_signoff"); !ok || p.Type != "enumeration" || len(p.Options) != 4 {
		t.Fatalf("dealflow_client_signoff is %+v", p)
	}
	out.Reset()
	if err := hubspot.Setup(context.Background(), c, cfg.Stages, "default", &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "created") || fake.Refused("409") != 0 {
		t.Fatalf("second run changed something:\n%s", out.String())
	}
	more, err := hubspot.ParseStages("discovery=appt,scoping=qualified,won=closedwon,lost=closedlost")
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := hubspot.Setup(context.Background(), c, more, "default", &out); err == nil || !strings.Contains(out.String(), "pipeline default has no stage qualified") {
		t.Fatalf("a missing stage: %v\n%s", err, out.String())
	}
}
