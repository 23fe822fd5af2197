package activities

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/slack-go/slack"

	"dealflow/activities/slackfake"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

var at = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

func note1(kind string) Notification {
	return Notification{Key: "n1", DealID: "d-1", Client: "Globex", Workstream: "Data platform", Channel: "C_DEALS",
		People: deal.People{AE: dealtest.AE, Presales: dealtest.Presales, PricingApprover: dealtest.Pricing, PM: dealtest.PM, GM: dealtest.GM},
		Notice: deal.Notice{Kind: kind}}
}

func render(t *testing.T, m SlackMessage) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func actionIDs(blocks json.RawMessage) []string {
	var ids []string
	for _, b := range slackfake.Buttons(blocks) {
		ids = append(ids, b.ActionID)
	}
	return ids
}

func wantText(t *testing.T, blocks json.RawMessage, parts ...string) {
	t.Helper()
	text := slackfake.Text(blocks)
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("blocks do not say %q; they say:\n%s", p, text)
		}
	}
}

func scopingTicket() deal.Ticket {
	return deal.Ticket{ID: "scoping", Owner: dealtest.Presales, DeliverableKind: "scoping_decision_log", ClientSignoffRequired: true,
		Status: "open", OpenedAt: at, Signoffs: []deal.Signoff{}}
}

func TestTicketMessageOpen(t *testing.T) {
	n := note1(deal.NoticeTicketOpened)
	tk := scopingTicket()
	b := render(t, TicketMessage(n, tk))
	if got, want := fmt.Sprint(actionIDs(b)), fmt.Sprint([]string{ActionApprove, ActionRequestChanges, ActionCommitment}); got != want {
		t.Fatalf("buttons %s, want %s", got, want)
	}
	for _, btn := range slackfake.Buttons(b) {
		v, err := ParseButtonValue(btn.Value)
		if err != nil || v != (ButtonValue{Deal: "d-1", Ticket: "scoping"}) {
			t.Errorf("button %s carries %q (%v), want deal d-1 ticket scoping", btn.ActionID, btn.Value, err)
		}
	}
	wantText(t, b, "Scoping ticket · Globex / Data platform", "<@U_PRESALES> owns this ticket", "*scoping decision log*",
		"records it on the client's behalf", "Only <@U_PRESALES>'s sign-off counts")
}

func TestTicketMessageAfterInternalApproval(t *testing.T) {
	tk := scopingTicket()
	tk.InternalApproved = true
	tk.Signoffs = []deal.Signoff{
		{Seq: 1, By: dealtest.AE, Side: "internal", Decision: "approve", At: at, Refused: true, Reason: "not the owner",
			Deliverable: &deal.Deliverable{Kind: "scoping_decision_log", URL: "https://evil.example.com"}},
		{Seq: 2, By: dealtest.Presales, Side: "internal", Decision: "approve", At: at,
			Deliverable: &deal.Deliverable{Kind: "scoping_decision_log", URL: "https://docs.example.com/scope", Body: "In: portal <b>"}},
	}
	n := note1(deal.NoticeSignoff)
	b := render(t, TicketMessage(n, tk))
	if got, want := fmt.Sprint(actionIDs(b)), fmt.Sprint([]string{ActionClientApprove, ActionClientChanges, ActionCommitment}); got != want {
		t.Fatalf("buttons %s, want %s", got, want)
	}
	wantText(t, b, "<@U_PRESALES> approved <!date^1772461800^", "<https://docs.example.com/scope|scoping decision log>",
		"In: portal &lt;b&gt;", "waiting for the client's sign-off")
	if strings.Contains(slackfake.Text(b), "evil") {
		t.Error("a refused sign-off is shown in the channel")
	}
}

func TestTicketMessageClosedHasNoButtons(t *testing.T) {
	tk := scopingTicket()
	closed := at.Add(time.Hour)
	tk.Status, tk.ClosedAt, tk.InternalApproved, tk.ClientApproved = "closed", &closed, true, true
	tk.Signoffs = []deal.Signoff{
		{Seq: 1, By: dealtest.Presales, Side: "internal", Decision: "approve", At: at, Deliverable: &deal.Deliverable{Kind: "scoping_decision_log", Body: "log"}},
		{Seq: 2, By: dealtest.Presales, Side: "client", Decision: "changes_requested", Note: "add SSO", At: at},
		{Seq: 3, By: dealtest.Presales, Side: "client", Decision: "approve", At: closed, Deliverable: &deal.Deliverable{Kind: "scoping_decision_log", URL: "https://mail.example.com/ok"}},
	}
	b := render(t, TicketMessage(note1(deal.NoticeSignoff), tk))
	if ids := actionIDs(b); len(ids) != 0 {
		t.Fatalf("closed ticket still has buttons %v", ids)
	}
	wantText(t, b, "asked for changes for the client", "“add SSO”", "approved for the client", fmt.Sprintf("*Closed* <!date^%d^", closed.Unix()))
	if strings.Contains(slackfake.Text(b), "counts") {
		t.Error("the buttons' hint stayed without buttons")
	}
}

func TestStageMessageClosingHasOutcomeButtons(t *testing.T) {
	n := note1(deal.NoticeStageChanged)
	n.Notice.Change = &deal.StageChange{Seq: 5, From: deal.Pricing, To: deal.Closing, At: at, By: dealtest.Pricing, Reason: "pricing signed off"}
	m, kind := StageMessage(n)
	b := render(t, m)
	if kind != MsgClosing {
		t.Fatalf("kind %s, want %s", kind, MsgClosing)
	}
	if got := fmt.Sprint(actionIDs(b)); got != fmt.Sprint([]string{ActionCloseWon, ActionCloseLost, ActionCommitment}) {
		t.Fatalf("buttons %s", got)
	}
	wantText(t, b, "moved from *pricing* to *closing*: pricing signed off", "<@U_AE>: record the outcome", "Close the deal won?")

	n.Notice.Change = &deal.StageChange{Seq: 7, From: deal.Handover, To: deal.InProgress, At: at, By: dealtest.PM, Reason: "handover signed off"}
	m, kind = StageMessage(n)
	b = render(t, m)
	if kind != MsgStage || len(actionIDs(b)) != 0 {
		t.Fatalf("in_progress: kind %s buttons %v", kind, actionIDs(b))
	}
	wantText(t, b, "*in progress*", "<@U_PM> runs delivery")
}

func TestHandoverMessage(t *testing.T) {
	n := note1(deal.NoticeHandoverOpened)
	n.Notice.Tickets = []deal.Ticket{
		{ID: "discovery", DeliverableKind: "discovery_notes", Status: "closed", Deliverable: &deal.Deliverable{Kind: "discovery_notes", URL: "https://docs.example.com/d", Body: "pains"}},
		{ID: "scoping", DeliverableKind: "scoping_decision_log", Status: "closed", ClientApproved: true,
			Deliverable: &deal.Deliverable{Kind: "scoping_decision_log", URL: "https://docs.example.com/s"},
			Signoffs:    []deal.Signoff{{By: dealtest.Presales, Side: "client", Decision: "approve", Deliverable: &deal.Deliverable{URL: "https://mail.example.com/ok"}}}},
		{ID: "pricing", DeliverableKind: "pricing_rationale", Status: "closed", Deliverable: &deal.Deliverable{Kind: "pricing_rationale", Body: "950/day"}},
	}
	n.Notice.Commitments = []deal.Commitment{
		{ID: "c1", Kind: "discount", Text: "10% off phase 2", Value: "10%", By: dealtest.AE},
		{ID: "c2", Kind: "date", Text: "go-live before March", By: dealtest.AE},
	}
	pm := render(t, HandoverMessage(n, true))
	if got := fmt.Sprint(actionIDs(pm)); got != fmt.Sprint([]string{ActionHandoverSignoff, ActionAskAE}) {
		t.Fatalf("PM's copy buttons %s", got)
	}
	for _, b := range []json.RawMessage{pm, render(t, HandoverMessage(n, false))} {
		wantText(t, b, "*Discovery*: <https://docs.example.com/d|discovery notes> “pains”", "*Pricing*: pricing rationale “950/day”",
			"*Scoping*: <https://docs.example.com/s|scoping decision log>; client sign-off recorded by <@U_PRESALES>: <https://mail.example.com/ok|evidence>",
			"`c1` discount: “10% off phase 2” (10%), by <@U_AE>", "`c2` date: “go-live before March”", "<@U_PM> signs the handover off")
	}
	ro := render(t, HandoverMessage(n, false))
	// The channel's copy only lets the PM and the GM ask the AE.
	if got := fmt.Sprint(actionIDs(ro)); got != fmt.Sprint([]string{ActionAskAE}) {
		t.Fatalf("the read-only copy has buttons %s", got)
	}
	wantText(t, ro, "Read-only copy for <@U_AE>")
}

func TestMarginMessageHasTheNumbers(t *testing.T) {
	n := note1(deal.NoticeMarginAlert)
	pct := decimal.RequireFromString("40")
	n.Notice.Alert = &deal.Alert{ID: "a1", Kind: "worsened", From: deal.OnTrack, To: deal.OffTrack, At: at, Margin: deal.Margin{
		Revenue: decimal.RequireFromString("100000"), ActualCost: decimal.RequireFromString("52000.5"), EAC: decimal.RequireFromString("130001.25"),
		ForecastMarginPct: decimal.RequireFromString("-30"), TargetMarginPct: decimal.RequireFromString("30"), DriftPts: decimal.RequireFromString("-60"), PctComplete: &pct}}
	b := render(t, MarginMessage(n))
	wantText(t, b, "Margin worsened", "on track → *off track*", "*Revenue*\n100000.00", "*Actual cost*\n52000.50", "130001.25",
		"-30.00% against target 30.00%", "-60.00 pts", "*Complete*\n40%", "<@U_PM> to act; <@U_AE> and <@U_GM> informed")

	n.Notice.Alert.Kind = "recovered"
	wantText(t, render(t, MarginMessage(n)), "Margin recovered", "No action needed")
}

func TestIncidentMessage(t *testing.T) {
	n := note1(deal.NoticeIncident)
	n.Notice.Incident = &deal.Incident{IncidentID: "I1", Severity: "critical", Status: "open", Title: "Data loss <in> staging"}
	wantText(t, render(t, IncidentMessage(n)), "*critical* incident `I1`", "is *open*: Data loss &lt;in&gt; staging", "<@U_PM> to act; <@U_GM> informed")
}

// Incidents and delivery stage changes carry the margin numbers, so people
// see the same figures on every message.
func TestDeliveryMessagesShowTheNumbers(t *testing.T) {
	m := deal.Margin{Revenue: decimal.RequireFromString("100000"), ActualCost: decimal.RequireFromString("12912.8"),
		EAC: decimal.RequireFromString("51651.2"), ForecastMarginPct: decimal.RequireFromString("48.35"),
		TargetMarginPct: decimal.RequireFromString("30"), DriftPts: decimal.RequireFromString("-18.35")}
	inc := note1(deal.NoticeIncident)
	inc.Margin = &m
	inc.Notice.Incident = &deal.Incident{IncidentID: "I1", Severity: "major", Status: "open", Title: "slow"}
	want := []string{"*Revenue*\n100000.00", "*Actual cost*\n12912.80", "*EAC* (estimate at completion)\n51651.20", "48.35% against target 30.00%"}
	wantText(t, render(t, IncidentMessage(inc)), want...)
	st := note1(deal.NoticeStageChanged)
	st.Margin = &m
	st.Notice.Change = &deal.StageChange{From: deal.InProgress, To: deal.Mitigation, At: at, By: "dealflow", Reason: "margin off_track"}
	msg, _ := StageMessage(st)
	wantText(t, render(t, msg), want...)
}

// Settled works on blocks as stored in PostgreSQL (JSON), and settling
// twice, as a retried activity would, shows one outcome.
func TestSettledTakesButtonsOffOnce(t *testing.T) {
	n := note1(deal.NoticeStageChanged)
	n.Notice.Change = &deal.StageChange{From: deal.Pricing, To: deal.Closing, At: at, By: dealtest.Pricing}
	m, _ := StageMessage(n)
	stored, _ := json.Marshal(m.Blocks)
	var shown slack.Blocks
	if err := json.Unmarshal(stored, &shown); err != nil {
		t.Fatal(err)
	}
	won := note1(deal.NoticeStageChanged)
	won.Notice.Change = &deal.StageChange{From: deal.Closing, To: deal.Handover, At: at, By: dealtest.AE, Reason: "closed won"}
	once := Settled(SlackMessage{Blocks: shown.BlockSet}, "t", ClosedOutcome(won))
	twice := Settled(once, "t", ClosedOutcome(won))
	b := render(t, twice)
	if ids := actionIDs(b); len(ids) != 0 {
		t.Fatalf("buttons left: %v", ids)
	}
	text := slackfake.Text(b)
	if strings.Count(text, "Closed *won*") != 1 || strings.Contains(text, "closes the deal") {
		t.Fatalf("settled message:\n%s", text)
	}
	wantText(t, b, "moved from *pricing* to *closing*", "Closed *won* by <@U_AE> <!date^")
}

// The sign-off notice carries the ticket as the sign-off left it, just
// before the deal closes it: the message must already read as closed.
func TestTicketMessageOfTheClosingSignoff(t *testing.T) {
	tk := deal.Ticket{ID: "discovery", Owner: dealtest.Presales, DeliverableKind: "discovery_notes", Status: "open", OpenedAt: at,
		InternalApproved: true, Signoffs: []deal.Signoff{{Seq: 1, By: dealtest.Presales, Side: "internal", Decision: "approve",
			At: at.Add(time.Minute), Deliverable: &deal.Deliverable{Kind: "discovery_notes", Body: "notes"}}}}
	b := render(t, TicketMessage(note1(deal.NoticeSignoff), tk))
	if ids := actionIDs(b); len(ids) != 0 {
		t.Fatalf("buttons %v on a ticket its sign-off closed", ids)
	}
	wantText(t, b, fmt.Sprintf("*Closed* <!date^%d^", at.Add(time.Minute).Unix()))

	tk.ClientSignoffRequired = true
	if ids := actionIDs(render(t, TicketMessage(note1(deal.NoticeSignoff), tk))); fmt.Sprint(ids) != fmt.Sprint([]string{ActionClientApprove, ActionClientChanges, ActionCommitment}) {
		t.Fatalf("a ticket waiting for the client shows %v", ids)
	}
}

// A message's top-level text is mrkdwn too: user text in it must not
// mention the channel or break the line, while the log keeps it as written.
func TestSummaryIsEscapedForSlack(t *testing.T) {
	inc := note1(deal.NoticeIncident)
	inc.Client = "AT&T <!everyone>"
	inc.Notice.Incident = &deal.Incident{IncidentID: "I<1>", Severity: "critical", Status: "open", Title: "<!channel> down"}
	text := IncidentMessage(inc).Text
	for _, bad := range []string{"<!channel>", "<!everyone>", "I<1>", "AT&T"} {
		if strings.Contains(text, bad) {
			t.Errorf("incident text %q carries %q unescaped", text, bad)
		}
	}
	slackWants(t, text, "AT&amp;T &lt;!everyone&gt; / Data platform", "incident I&lt;1&gt;", "&lt;!channel&gt; down")
	if log := Summary(inc); !strings.Contains(log, "AT&T <!everyone> / Data platform: critical incident I<1> is open: <!channel> down") {
		t.Errorf("the log line is not as written: %q", log)
	}

	lost := note1(deal.NoticeStageChanged)
	lost.Notice.Change = &deal.StageChange{From: deal.Closing, To: deal.ClosedLost, At: at, By: dealtest.AE, Reason: "<!here> budget <cut>"}
	settled := Settled(SlackMessage{}, slackSummary(lost), ClosedOutcome(lost))
	if strings.Contains(settled.Text, "<!here>") {
		t.Errorf("settled text %q pings the channel", settled.Text)
	}
	slackWants(t, settled.Text, "(&lt;!here&gt; budget &lt;cut&gt;, by <@U_AE>)")

	m := note1(deal.NoticeMarginAlert)
	m.Workstream = "<https://evil.example.com|click>"
	m.Notice.Alert = &deal.Alert{Kind: "worsened", From: deal.OnTrack, To: deal.AtRisk, At: at}
	if text := MarginMessage(m).Text; strings.Contains(text, "<https://evil") {
		t.Errorf("margin text %q carries a link from the workstream name", text)
	}
}

func slackWants(t *testing.T, text string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("text %q does not say %q", text, p)
		}
	}
}

// TestTicketMessageWithClientLinks: with client links on, the owner's way
// forward is the link; a decision the client gave through one names the
// client (escaped), and the handover says the client signed in person.
func TestTicketMessageWithClientLinks(t *testing.T) {
	tk := scopingTicket()
	tk.InternalApproved = true
	n := note1(deal.NoticeSignoff)
	b := render(t, Renderer{ClientLinks: true}.TicketMessage(n, tk))
	if got, want := fmt.Sprint(actionIDs(b)), fmt.Sprint([]string{ActionClientLink, ActionClientApprove, ActionClientChanges, ActionCommitment}); got != want {
		t.Fatalf("buttons %s, want %s", got, want)
	}
	wantText(t, b, "send the client a link")

	signer := &deal.ClientSigner{Name: "Jane <Doe>", Email: "jane@client.com", Evidence: "ab", LinkID: "L1"}
	tk.Signoffs = []deal.Signoff{
		{Seq: 1, By: dealtest.Presales, Side: "client", Decision: "changes_requested", Note: "add retention", At: at, Client: signer},
		{Seq: 2, By: dealtest.Presales, Side: "client", Decision: "approve", At: at.Add(time.Hour), Client: signer},
	}
	tk.ClientApproved = true
	b = render(t, Renderer{ClientLinks: true}.TicketMessage(n, tk))
	wantText(t, b, "asked for changes by Jane &lt;Doe&gt; (jane@client.com) via link", "add retention",
		"approved by Jane &lt;Doe&gt; (jane@client.com) via link")
	if strings.Contains(slackfake.Text(b), "Jane <Doe>") {
		t.Error("the client's name reaches Slack unescaped")
	}
	h := note1(deal.NoticeHandoverOpened)
	h.Notice.Tickets = []deal.Ticket{tk}
	wantText(t, render(t, HandoverMessage(h, false)), "client approved by Jane &lt;Doe&gt; (jane@client.com) via link")
}

// FuzzParseButtonValue: any value Slack could send back as a click is
// either refused or names a deal whose button carries the same value.
// Fuzz longer: go test -run '^$' -fuzz '^FuzzParseButtonValue$' -fuzztime 10m ./activities
func FuzzParseButtonValue(f *testing.F) {
	for _, s := range []string{`{"deal":"d1","ticket":"discovery"}`, `{"deal":"d1"}`, `{"deal":"d1","ticket":"handover"}`,
		`{"deal":"x?a#b"}`, `{"deal":""}`, `{"deal":"d1","deal":"d2"}`, `{"deal":"d1","extra":1}`, `{"deal":"d\u0000"}`,
		`{"deal":"d1"} {"deal":"d2"}`, `"d1"`, `{"deal":"d1","ticket":"kickoff"}`, strings.Repeat("[", 3000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseButtonValue(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		again, err := ParseButtonValue(v.String())
		if err != nil || again != v {
			t.Fatalf("%q read as %+v, which re-reads as %+v, %v", s, v, again, err)
		}
	})
}

func TestQuestionMessages(t *testing.T) {
	n := Notification{Key: "n9", DealID: "d-1", Client: "Globex", Workstream: "Data platform", Channel: "C_DEALS",
		People: deal.People{AE: dealtest.AE, PM: dealtest.PM, GM: dealtest.GM}}
	q := deal.Question{ID: "slack-V1", By: dealtest.PM, Text: "Which <!channel> integrations?", AskedAt: at, DueAt: at.Add(48 * time.Hour)}
	n.Notice = deal.Notice{Kind: deal.NoticeQuestionAsked, Question: &q}
	ask := render(t, Renderer{}.QuestionMessage(n))
	if got := fmt.Sprint(actionIDs(ask)); got != fmt.Sprint([]string{ActionAnswer}) {
		t.Fatalf("question buttons %s", got)
	}
	if v, err := ParseButtonValue(slackfake.Buttons(ask)[0].Value); err != nil || v.Question != "slack-V1" || v.Deal != "d-1" {
		t.Fatalf("answer button value %+v %v", v, err)
	}
	wantText(t, ask, "<@U_PM> asks you about *Globex / Data platform*", "Which &lt;!channel&gt; integrations?", "goes to <@U_GM>")
	q.Answer = &deal.Answer{By: dealtest.AE, Text: "Only the CRM", At: at.Add(time.Hour)}
	n.Notice.Kind = deal.NoticeQuestionAnswered
	wantText(t, render(t, Renderer{}.AnswerMessage(n)), "<@U_AE> answered your question", "“Only the CRM”")
	n.Notice.Kind = deal.NoticeQuestionEscalated
	wantText(t, render(t, Renderer{}.EscalationMessage(n)), "<@U_AE> has not answered <@U_PM>'s question")
}
