package server

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/workflows"
)

var forecastRe = regexp.MustCompile(`id="forecast-margin">([^<]*)<`)

// TestDealPages drives deals into different stages through the real dev
// server and reads the list and the deal page the way a person would.
func TestDealPages(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	today := time.Now().UTC().Format("2006-01-02")

	openDeal(t, s, dealtest.Terms("pg-a", time.Now()))
	send(t, s, "pg-a", dealtest.ToDelivery()...)
	send(t, s, "pg-a",
		dealtest.Progress("20"),
		dealtest.Invoice("INV-1", "subcontractor", "30000", today),
		dealtest.Invoice("INV-2", "travel", "1500.25", today),
		dealtest.Step{Signal: deal.SigFee, Payload: dealtest.JSON(map[string]string{"fee_id": "F1", "kind": "invoiced", "amount": "40000", "currency": "EUR", "date": today})},
		dealtest.Step{Signal: deal.SigFee, Payload: dealtest.JSON(map[string]string{"fee_id": "F2", "kind": "collected", "amount": "25000", "currency": "EUR", "date": today})},
		dealtest.Step{Signal: deal.SigIncident, Payload: dealtest.JSON(map[string]string{"incident_id": "I1", "severity": "critical", "status": "open", "title": "Data loss in staging"})},
		dealtest.Step{Signal: deal.SigChangeOrder, Payload: dealtest.JSON(map[string]string{"id": "CO-1", "amount": "8000", "planned_cost": "5000", "status": "pending", "by": dealtest.PM})},
	)
	b := dealtest.Terms("pg-b", time.Now())
	b.People.AE, b.Workstream = "U_AE_BEA", "Analytics"
	openDeal(t, s, b)
	c := dealtest.Terms("pg-c", time.Now())
	c.Client = "Initech"
	openDeal(t, s, c)
	send(t, s, "pg-c", append(dealtest.ToClosing(), dealtest.Won())...)
	for _, id := range []string{"pg-a", "pg-b", "pg-c"} {
		waitForRecord(t, s, id)
	}
	base := "http://" + s.Addr

	t.Run("list", func(t *testing.T) {
		code, body := get(t, base+"/deals", nil)
		if code != http.StatusOK {
			t.Fatalf("GET /deals: %d %s", code, body)
		}
		// A client's workstreams sit together, under the client's name.
		ia, ib, ic := strings.Index(body, `data-deal="pg-a"`), strings.Index(body, `data-deal="pg-b"`), strings.Index(body, `data-deal="pg-c"`)
		ig, ii := strings.Index(body, "Globex <span"), strings.Index(body, "Initech <span")
		if ia < 0 || ib < 0 || ic < 0 || !(ig < ia && ig < ib && ia < ii && ib < ii && ii < ic) {
			t.Fatalf("deals not grouped by client (Globex %d: a %d b %d; Initech %d: c %d):\n%s", ig, ia, ib, ii, ic, body)
		}
		if !strings.Contains(body, "2 workstreams") {
			t.Errorf("Globex's two workstreams are not counted together")
		}
		for _, f := range []struct{ query, want string }{
			{"stage=mitigation", "pg-a"}, {"stage=handover", "pg-c"}, {"ae=U_AE_BEA", "pg-b"}, {"client=Initech", "pg-c"},
			{"client=Globex&stage=discovery", "pg-b"},
		} {
			code, body := get(t, base+"/deals?"+f.query, nil)
			if code != http.StatusOK {
				t.Fatalf("%s: %d", f.query, code)
			}
			for _, id := range []string{"pg-a", "pg-b", "pg-c"} {
				if got := strings.Contains(body, `data-deal="`+id+`"`); got != (id == f.want) {
					t.Errorf("filter %s: %s listed = %v, want only %s", f.query, id, got, f.want)
				}
			}
		}
		if code, body := get(t, base+"/deals?pm=nobody", nil); code != http.StatusOK || !strings.Contains(body, `id="no-deals"`) {
			t.Errorf("a filter matching nothing: %d, want 200 and the empty note", code)
		}
		code, body = get(t, base+"/deals?stage=bogus", nil)
		if code != http.StatusBadRequest || !strings.Contains(body, `unknown stage &#34;bogus&#34;`) {
			t.Errorf("unknown stage: %d %s; want 400 naming it", code, body)
		}
	})

	t.Run("deal in mitigation", func(t *testing.T) {
		rec, err := workflows.Record(ctx, s.Client, "pg-a")
		if err != nil {
			t.Fatal(err)
		}
		code, body := get(t, base+"/deals/pg-a", nil)
		if code != http.StatusOK {
			t.Fatalf("GET /deals/pg-a: %d %s", code, body)
		}
		m := forecastRe.FindStringSubmatch(body)
		if m == nil || m[1] != rec.Deal.Margin.ForecastMarginPct.StringFixed(2) {
			t.Fatalf("forecast margin on the page %v, record says %s", m, rec.Deal.Margin.ForecastMarginPct.StringFixed(2))
		}
		for _, want := range []string{
			`id="stage" class="pill bad">mitigation<`, "Data loss in staging", "10% off phase 2", "go-live before March",
			"data retention period", `id="fees-collected">25,000.00<`, `id="fees-pending">15,000.00<`,
			`id="actual-cost">31,500.25 EUR<`, "CO-1", "INV-2", `id="margin-chart"`, "<polyline", "discovery deliverable",
			`id="margin-status" class="pill bad">off track<`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("deal page lacks %q", want)
			}
		}
	})

	t.Run("deal in presale", func(t *testing.T) {
		code, body := get(t, base+"/deals/pg-b", nil)
		if code != http.StatusOK {
			t.Fatalf("GET /deals/pg-b: %d", code)
		}
		for _, want := range []string{`id="stage" class="pill ">discovery<`, "The handover ticket opens when the deal is won.", "Delivery has not started", "No margin checks yet"} {
			if !strings.Contains(body, want) {
				t.Errorf("presale deal page lacks %q", want)
			}
		}
	})

	t.Run("unknown deal", func(t *testing.T) {
		if code, body := get(t, base+"/deals/nope", nil); code != http.StatusNotFound || !strings.Contains(body, `no deal &#34;nope&#34;`) {
			t.Errorf("unknown deal: %d %s", code, body)
		}
	})

	t.Run("home goes to the list", func(t *testing.T) {
		if code, body := get(t, base+"/", nil); code != http.StatusOK || !strings.Contains(body, `id="deals"`) {
			t.Errorf("GET /: %d", code)
		}
	})
}

// TestDashboardAuth checks DASHBOARD_TOKEN guards every page, as a bearer
// token or a basic-auth password, and leaves health checks open.
func TestDashboardAuth(t *testing.T) {
	const token = "s3cret-token-0123456789abcdef01234"
	s := startServer(t, func(c *Config) { c.DashboardToken = token })
	base := "http://" + s.Addr
	basic := func(user, pw string) http.Header {
		r, _ := http.NewRequest(http.MethodGet, base, nil)
		r.SetBasicAuth(user, pw)
		return r.Header
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	for _, path := range []string{"/deals", "/deals/x", "/reports/handover", "/"} {
		for _, c := range []struct {
			name string
			h    http.Header
			want int
		}{
			{"none", nil, http.StatusUnauthorized},
			{"wrong bearer", bearer("s3cret"), http.StatusUnauthorized},
			{"wrong password", basic("ana", "nope"), http.StatusUnauthorized},
			{"bearer", bearer(token), http.StatusOK},
			{"basic", basic("anyone", token), http.StatusOK},
		} {
			want := c.want
			if path == "/deals/x" && want == http.StatusOK {
				want = http.StatusNotFound // let in, and there is no such deal
			}
			req, _ := http.NewRequest(http.MethodGet, base+path, nil)
			for k, v := range c.h {
				req.Header[k] = v
			}
			resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if path == "/" && want == http.StatusOK {
				want = http.StatusSeeOther
			}
			if resp.StatusCode != want {
				t.Errorf("%s with %s: %d, want %d", path, c.name, resp.StatusCode, want)
			}
			if want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s with %s: WWW-Authenticate %q, want Basic", path, c.name, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if code, _ := get(t, base+"/healthz", nil); code != http.StatusOK {
		t.Errorf("/healthz behind the dashboard token: %d", code)
	}
}
