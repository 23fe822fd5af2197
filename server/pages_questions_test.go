package server

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"dealflow/deal/dealtest"
	"dealflow/workflows"
)

// TestAskTheAEFromTheDealPage: people signed in through the SSO proxy ask
// and answer on the deal page as their Slack users, and the deal's rules
// decide: the PM and the GM ask, the AE answers; the AE cannot ask, a
// repeat of the form records one question, too long a text is refused,
// and the dashboard token is no one.
func TestAskTheAEFromTheDealPage(t *testing.T) {
	s, fake := slackServer(t, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	for id, email := range map[string]string{dealtest.PM: "pm@firm.example", dealtest.GM: "gm@firm.example", dealtest.AE: "ae@firm.example"} {
		fake.SetUser(id, email, email)
		fake.SetEmail(id, email)
	}
	id := "page-ask"
	openDeal(t, s, dealtest.Terms(id, time.Now()))
	send(t, s, id, dealtest.ToDelivery()...)
	base := "http://" + s.Addr
	post := func(path, person string, form url.Values) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		if person != "" {
			req.Header.Set("X-Forwarded-Email", person)
		} else {
			req.Header.Set("Authorization", "Bearer "+testDashboardToken)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		resp, body := readAll(t, resp, err)
		return resp.StatusCode, body
	}
	ask := url.Values{"question_id": {"q-page-1"}, "text": {"Which integrations did you promise?"}}
	for _, c := range []struct {
		what, person string
		form         url.Values
		code         int
		want         string
	}{
		{"the PM asks", "pm@firm.example", ask, http.StatusSeeOther, ""},
		{"the form sent again", "pm@firm.example", ask, http.StatusSeeOther, ""},
		{"the GM asks", "gm@firm.example", url.Values{"question_id": {"q-page-2"}, "text": {"Is the go-live date in writing?"}}, http.StatusSeeOther, ""},
		{"the AE asks", "ae@firm.example", url.Values{"question_id": {"q-page-3"}, "text": {"Me?"}}, http.StatusUnprocessableEntity, "only the PM"},
		{"too long", "pm@firm.example", url.Values{"question_id": {"q-page-4"}, "text": {strings.Repeat("?", 2001)}}, http.StatusUnprocessableEntity, "longer than 2000"},
		{"the token is no one", "", url.Values{"question_id": {"q-page-5"}, "text": {"Anyone?"}}, http.StatusForbidden, "sign in as yourself"},
	} {
		if code, body := post("/deals/"+id+"/questions", c.person, c.form); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want %d saying %q\n%s", c.what, code, c.code, c.want, body[strings.Index(body, "<main"):])
		}
	}
	if code, body := post("/deals/"+id+"/questions/q-page-1/answer", "pm@firm.example", url.Values{"text": {"Not me."}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "only the AE") {
		t.Errorf("the PM answered: %d %.200s", code, body)
	}
	if code, body := post("/deals/"+id+"/questions/q-page-1/answer", "ae@firm.example", url.Values{"text": {"Only the CRM export."}}); code != http.StatusSeeOther {
		t.Fatalf("the AE's answer: %d %.300s", code, body)
	}
	st, err := workflows.Record(context.Background(), s.Client, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Deal.Questions) != 2 {
		t.Fatalf("%d questions on the deal, want 2 (the PM's, once, and the GM's)", len(st.Deal.Questions))
	}
}
