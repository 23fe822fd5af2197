package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dealflow/clientlink"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// devtools is one page of a headless Chromium driven over the Chrome
// DevTools Protocol: what a person does (type, click) goes through the
// browser's input pipeline, so the form is submitted as a browser submits
// it, cookie, CSRF value, CSP and all.
type devtools struct {
	t    *testing.T
	conn *websocket.Conn
	id   int
}

// startDevtools runs Chromium with a debugging port of its own and
// connects to its first page.
func startDevtools(t *testing.T) *devtools {
	t.Helper()
	bin := chromiumBin(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--remote-debugging-port=0", "--user-data-dir="+dir, "about:blank")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	var port string
	dealtest.Eventually(t, "chromium's DevTools port", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if err != nil {
			return false
		}
		port = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
		return port != ""
	})
	var targets []struct{ Type, WebSocketDebuggerURL string }
	dealtest.Eventually(t, "chromium's page target", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		targets = nil
		_ = json.NewDecoder(resp.Body).Decode(&targets)
		for _, tg := range targets {
			if tg.Type == "page" {
				return true
			}
		}
		return false
	})
	for _, tg := range targets {
		if tg.Type != "page" {
			continue
		}
		conn, _, err := websocket.DefaultDialer.Dial(tg.WebSocketDebuggerURL, nil)
		if err != nil {
			t.Fatalf("devtools: %v\n%s", err, stderr.String())
		}
		t.Cleanup(func() { _ = conn.Close() })
		d := &devtools{t: t, conn: conn}
		// Every document the page loads keeps what its CSP blocked, for
		// cspClean; the script is the browser's, which no CSP restrains.
		d.call("Page.enable", map[string]any{})
		d.call("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": `window.cspViolations = [];
			document.addEventListener("securitypolicyviolation", e => window.cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline")));`})
		return d
	}
	t.Fatal("chromium has no page")
	return nil
}

// call sends one command and waits for its answer, skipping events.
func (d *devtools) call(method string, params any) json.RawMessage {
	d.t.Helper()
	d.id++
	if err := d.conn.WriteJSON(map[string]any{"id": d.id, "method": method, "params": params}); err != nil {
		d.t.Fatalf("devtools %s: %v", method, err)
	}
	_ = d.conn.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := d.conn.ReadJSON(&msg); err != nil {
			d.t.Fatalf("devtools %s: %v", method, err)
		}
		if msg.ID != d.id {
			continue
		}
		if msg.Error != nil {
			d.t.Fatalf("devtools %s: %s", method, msg.Error.Message)
		}
		return msg.Result
	}
}

// eval reads something off the page (never changes it: input goes
// through type and click).
func (d *devtools) eval(expr string, out any) {
	d.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails any `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(d.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}), &r); err != nil || r.ExceptionDetails != nil {
		d.t.Fatalf("evaluating %s: %v %v", expr, err, r.ExceptionDetails)
	}
	if err := json.Unmarshal(r.Result.Value, out); err != nil {
		d.t.Fatalf("evaluating %s: %s: %v", expr, r.Result.Value, err)
	}
}

// cspClean fails the test if the page's Content-Security-Policy blocked
// anything: the page would not look or work as it was written.
func (d *devtools) cspClean(what string) {
	d.t.Helper()
	var v []string
	d.eval(`window.cspViolations || []`, &v)
	for _, x := range v {
		d.t.Errorf("%s broke its Content-Security-Policy: %s", what, x)
	}
}

func (d *devtools) waitFor(what, expr string) {
	d.t.Helper()
	dealtest.Eventually(d.t, what, func() bool {
		var ok bool
		d.eval("!!("+expr+")", &ok)
		return ok
	})
}

// click presses the mouse on the middle of the element with id.
func (d *devtools) click(id string) {
	d.t.Helper()
	var at struct{ X, Y float64 }
	d.eval(fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.scrollIntoView({block: "center"});
		const r = e.getBoundingClientRect(); return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`, id), &at)
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		d.call("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": at.X, "y": at.Y, "button": "left", "clickCount": 1})
	}
}

// typeInto clicks the field and types text as keyboard input.
func (d *devtools) typeInto(id, text string) {
	d.t.Helper()
	d.click(id)
	d.call("Input.insertText", map[string]any{"text": text})
}

func (d *devtools) screenshot(path string) {
	d.t.Helper()
	var shot struct{ Data string }
	if err := json.Unmarshal(d.call("Page.captureScreenshot", map[string]any{"format": "png"}), &shot); err != nil {
		d.t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || len(b) < 10000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		d.t.Fatalf("no screenshot (%d bytes, %v)", len(b), err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// TestClientSignsOffInBrowser: the client opens the link in Chromium,
// types their name and email, chooses approve and sends; the deal moves to
// proposal with their name and the evidence of this browser.
// DEALFLOW_SCREENSHOTS keeps the form and the answer as PNGs (the README's
// docs/client-signoff.png is one).
func TestClientSignsOffInBrowser(t *testing.T) {
	chromiumBin(t)
	s, _ := linkServer(t, nil)
	id := "cl-br"
	atClientSignoff(t, s, id)
	links := &clientlink.Links{Secret: []byte(testLinkSecret), Store: s.Store}
	k, err := links.Issue(context.Background(), id, "scoping", dealtest.Presales)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("DEALFLOW_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}

	b := startDevtools(t)
	b.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 900, "height": 1000, "deviceScaleFactor": 1, "mobile": false})
	b.call("Page.navigate", map[string]any{"url": "http://" + s.Addr + k.Path()})
	b.waitFor("the sign-off form", `document.readyState === "complete" && document.getElementById("signoff")`)
	b.cspClean("the sign-off form")
	// The page's own stylesheet loads under its CSP; nothing else does.
	var sheets int
	b.eval(`document.styleSheets.length`, &sheets)
	if sheets != 1 {
		t.Errorf("the page has %d stylesheets, want its own one", sheets)
	}
	b.typeInto("name", "Jane Doe")
	b.typeInto("email", "jane@client.com")
	b.click("approve")
	b.typeInto("note", "Matches what we agreed on Tuesday.")
	var approveChecked bool
	b.eval(`document.getElementById("approve").checked`, &approveChecked)
	if !approveChecked {
		t.Fatal("clicking approve did not choose it")
	}
	b.screenshot(filepath.Join(dir, "client-signoff.png"))
	var ua string
	b.eval(`navigator.userAgent`, &ua)

	b.click("submit")
	b.waitFor("the answer page", `document.readyState === "complete" && document.getElementById("done")`)
	b.cspClean("the answer page")
	var text string
	b.eval(`document.getElementById("done").innerText`, &text)
	if !strings.Contains(text, "Thank you, Jane Doe") || !strings.Contains(text, "approval") {
		t.Fatalf("the answer page says %q", text)
	}
	b.screenshot(filepath.Join(dir, "client-signoff-done.png"))

	rec, st := stored(t, s, id)
	if st.Deal.Stage != deal.Proposal {
		t.Fatalf("the deal is at %s, want proposal", st.Deal.Stage)
	}
	sos := slackTicket(rec, "scoping").Signoffs
	last := sos[len(sos)-1]
	if c := last.Client; c == nil || c.Name != "Jane Doe" || c.Email != "jane@client.com" || last.Note != "Matches what we agreed on Tuesday." ||
		c.Evidence != links.Evidence("127.0.0.1", ua) || c.LinkID != k.ID {
		t.Fatalf("the record holds %+v with client %+v", last, last.Client)
	}
}

// TestDealPageFormsInBrowser: under the pages' CSP, the deal page renders
// in Chromium with its stylesheet, and its forms work: issuing a client
// link, then revoking it, each a POST the browser sends to this worker.
func TestDealPageFormsInBrowser(t *testing.T) {
	chromiumBin(t)
	const token = "forms-token-0123456789abcdef012345"
	s, _ := linkServer(t, func(c *Config) { c.DashboardToken = token })
	id := "cl-forms"
	atClientSignoff(t, s, id)

	b := startDevtools(t)
	b.call("Network.enable", map[string]any{})
	b.call("Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Authorization": "bearer " + token}})
	b.call("Page.navigate", map[string]any{"url": "http://" + s.Addr + dealPath(id)})
	b.waitFor("the deal page", `document.readyState === "complete" && document.getElementById("issue-scoping")`)
	b.cspClean("the deal page")
	var sheets int
	b.eval(`document.styleSheets.length`, &sheets)
	if sheets != 1 {
		t.Errorf("the deal page has %d stylesheets, want its own one", sheets)
	}

	b.click("issue-scoping")
	b.waitFor("the issued link", `document.readyState === "complete" && document.getElementById("client-link")`)
	b.cspClean("the issued link's page")
	var link string
	b.eval(`document.getElementById("client-link").value`, &link)
	if !strings.Contains(link, "/client/") {
		t.Fatalf("the issued link is %q", link)
	}

	b.call("Page.navigate", map[string]any{"url": "http://" + s.Addr + dealPath(id)})
	b.waitFor("the deal page with its live link", `document.readyState === "complete" && document.querySelector("tr[data-link] button")`)
	var linkID string
	b.eval(`document.querySelector("tr[data-link]").dataset.link`, &linkID)
	b.click("revoke-" + linkID)
	b.waitFor("the deal page after revoking", `document.readyState === "complete" && location.hash === "#client-links" && !document.querySelector("tr[data-link] button")`)
	b.cspClean("the deal page after revoking")
}
