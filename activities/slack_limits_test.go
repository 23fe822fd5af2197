package activities

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/slack-go/slack"

	"dealflow/activities/slackfake"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// The rules' text limits (deal/text.go), in bytes as the rules count them.
const (
	ruleIDLen   = 128
	ruleURLLen  = 2000
	ruleBodyLen = 20000
	ruleTextLen = 4000
)

// wantWithinLimits checks a message as Slack would take it: as rendered,
// its short version, and both once settled. Every mrkdwn text must keep
// its markup whole.
func wantWithinLimits(t *testing.T, what string, m SlackMessage) {
	t.Helper()
	settled := Settled(m, m.Text, ":white_check_mark: Settled by <@U_X>.")
	for _, v := range []struct {
		name   string
		blocks []slack.Block
	}{{"", m.Blocks}, {" (short)", m.Short}, {" (settled)", settled.Blocks}, {" (settled, short)", settled.Short}} {
		b, err := json.Marshal(v.blocks)
		if err != nil {
			t.Fatal(err)
		}
		if err := slackfake.SlackLimits.Message(m.Text, b); err != nil {
			t.Fatalf("%s%s: Slack would refuse it: %v", what, v.name, err)
		}
		for _, text := range slackfake.MrkdwnTexts(b) {
			if bad := slackfake.BrokenMarkup(text); bad != "" {
				t.Fatalf("%s%s: broken markup, %s", what, v.name, bad)
			}
		}
	}
	if len(m.Short) == 0 {
		t.Fatalf("%s has no short version", what)
	}
}

func longSignoff(i int, by string, r *rand.Rand) deal.Signoff {
	at := at.Add(time.Duration(i) * time.Hour)
	if i%2 == 1 {
		return deal.Signoff{Seq: i, By: by, Side: "internal", Decision: "changes_requested", At: at, Note: randomText(r, ruleTextLen, true)}
	}
	return deal.Signoff{Seq: i, By: by, Side: "internal", Decision: "approve", At: at,
		Deliverable: &deal.Deliverable{Kind: "scoping_decision_log", URL: randomURL(r, ruleURLLen, true), Body: randomText(r, ruleBodyLen, true)}}
}

// A ticket through many rounds (46 with the longest links, bodies and
// notes made 51 blocks; 4 passed the text Slack takes) shows its state,
// its buttons and the newest sign-offs, and links to the rest.
func TestTicketMessageShowsTheLastSignoffs(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 1))
	for _, rounds := range []int{4, 46, 136} {
		tk := scopingTicket()
		for i := range rounds {
			tk.Signoffs = append(tk.Signoffs, longSignoff(i, dealtest.Presales, r))
		}
		n := note1(deal.NoticeSignoff)
		m := Renderer{BaseURL: "https://dealflow.example.com/"}.TicketMessage(n, tk)
		wantWithinLimits(t, fmt.Sprintf("ticket after %d rounds", rounds), m)
		b := render(t, m)
		if got, want := fmt.Sprint(actionIDs(b)), fmt.Sprint([]string{ActionApprove, ActionRequestChanges, ActionCommitment}); got != want {
			t.Fatalf("%d rounds: buttons %s, want %s", rounds, got, want)
		}
		if rounds > shownSignoffs {
			wantText(t, b, fmt.Sprintf("the last %d (%d earlier: see <https://dealflow.example.com/deals/d-1|the deal page>)", shownSignoffs, rounds-shownSignoffs))
		}
		text := slackfake.Text(b)
		last := tk.Signoffs[rounds-1]
		if !strings.Contains(text, when(last.At)) {
			t.Errorf("%d rounds: the newest sign-off is not shown", rounds)
		}
		if strings.Contains(text, when(tk.Signoffs[rounds-shownSignoffs-1].At)) {
			t.Errorf("%d rounds: more than the last %d sign-offs are shown", rounds, shownSignoffs)
		}
	}
	// Without a base URL the message names the page without a link.
	tk := scopingTicket()
	for i := range 5 {
		tk.Signoffs = append(tk.Signoffs, longSignoff(i, dealtest.Presales, r))
	}
	wantText(t, render(t, TicketMessage(note1(deal.NoticeSignoff), tk)), "(2 earlier: see the deal page)")
}

// 42 commitments with 4,000-character values made a 51-block handover.
func TestHandoverMessageCapsCommitments(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 2))
	n := note1(deal.NoticeHandoverOpened)
	for i := range 42 {
		n.Notice.Commitments = append(n.Notice.Commitments, deal.Commitment{ID: fmt.Sprintf("c%d", i), Kind: "deliverable",
			Text: randomText(r, ruleTextLen, true), Value: randomText(r, ruleTextLen, true), By: dealtest.AE})
	}
	for _, interactive := range []bool{true, false} {
		m := Renderer{BaseURL: "https://dealflow.example.com"}.HandoverMessage(n, interactive)
		wantWithinLimits(t, fmt.Sprintf("handover (interactive %v)", interactive), m)
		b := render(t, m)
		for i := range shownCommitments {
			wantText(t, b, fmt.Sprintf("`c%d`", i))
		}
		wantText(t, b, fmt.Sprintf("…and %d more on <https://dealflow.example.com/deals/d-1|the deal page>", 42-shownCommitments))
		if strings.Contains(slackfake.Text(b), fmt.Sprintf("`c%d`", shownCommitments)) {
			t.Errorf("more than %d commitments shown", shownCommitments)
		}
	}
	wantText(t, render(t, HandoverMessage(n, true)), fmt.Sprintf("…and %d more on the deal page.", 42-shownCommitments))
}

// Cutting a section used to split a link or a mention, leaving markup
// Slack shows as garbage.
func TestSectionTruncationKeepsMarkupWhole(t *testing.T) {
	for _, c := range []struct{ name, tail string }{
		{"link", link("https://docs.example.com/"+strings.Repeat("a", 40), "notes")},
		{"mention", "<@U_PRESALES>"},
		{"date", when(at)},
		{"escape", esc("<b>&")},
	} {
		for pad := 2970; pad < 3000; pad++ {
			s := section(strings.Repeat("x", pad) + c.tail + " and more")
			text := s.Text.Text
			if n := utf8.RuneCountInString(text); n > 3000 {
				t.Fatalf("%s at %d: %d characters", c.name, pad, n)
			}
			if bad := slackfake.BrokenMarkup(text); bad != "" {
				t.Fatalf("%s at %d: %s", c.name, pad, bad)
			}
		}
	}
}

// Names as long as the rules allow are cut in every message.
func TestSlackDealNameIsShort(t *testing.T) {
	name := SlackDealName(strings.Repeat("&", ruleTextLen), strings.Repeat("<", ruleTextLen))
	if n := utf8.RuneCountInString(name); n > 250 {
		t.Fatalf("deal name of %d characters", n)
	}
	if bad := slackfake.BrokenMarkup(name); bad != "" {
		t.Fatal(bad)
	}
}

// Random deals the rules accept, rendered into every message, stay within
// what Slack takes.
func TestSlackMessagesStayWithinLimits(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 13))
	for i := range 100 {
		n := randomNotification(r)
		tk := randomTicket(r, n.People)
		what := func(kind string) string { return fmt.Sprintf("deal #%d %s", i, kind) }
		wantWithinLimits(t, what("ticket"), Renderer{BaseURL: "https://dealflow.example.com"}.TicketMessage(n, tk))
		wantWithinLimits(t, what("ticket without base URL"), TicketMessage(n, tk))

		n.Notice.Tickets = nil
		for range r.IntN(5) {
			n.Notice.Tickets = append(n.Notice.Tickets, randomTicket(r, n.People))
		}
		n.Notice.Commitments = nil
		for range r.IntN(501) {
			n.Notice.Commitments = append(n.Notice.Commitments, deal.Commitment{ID: randomID(r), Kind: deal.CommitmentKinds[r.IntN(len(deal.CommitmentKinds))],
				Text: randomText(r, ruleTextLen, r.IntN(4) == 0), Value: randomText(r, ruleTextLen, r.IntN(4) == 0), By: randomID(r), At: at})
		}
		wantWithinLimits(t, what("handover"), HandoverMessage(n, true))
		wantWithinLimits(t, what("handover, read-only"), HandoverMessage(n, false))

		n.Notice.Change = &deal.StageChange{From: deal.Stages[r.IntN(len(deal.Stages))], To: deal.Stages[r.IntN(len(deal.Stages))],
			At: at, By: randomID(r), Reason: randomText(r, ruleTextLen, r.IntN(2) == 0)}
		n.Margin = randomMargin(r)
		m, _ := StageMessage(n)
		wantWithinLimits(t, what("stage"), m)
		for _, outcome := range []string{ClosedOutcome(n), HandoverOutcome(n), CancelledOutcome(n)} {
			wantWithinLimits(t, what("settled"), Settled(m, slackSummary(n), outcome))
		}

		n.Notice.Incident = &deal.Incident{IncidentID: randomID(r), Severity: []string{"minor", "major", "critical"}[r.IntN(3)],
			Status: []string{"open", "resolved"}[r.IntN(2)], Title: randomText(r, ruleTextLen, r.IntN(2) == 0)}
		wantWithinLimits(t, what("incident"), IncidentMessage(n))
		n.Notice.Alert = &deal.Alert{ID: randomID(r), Kind: []string{"worsened", "recovered"}[r.IntN(2)], From: "on_track", To: "off_track", At: at, Margin: *randomMargin(r)}
		wantWithinLimits(t, what("margin"), MarginMessage(n))
	}
}

func randomNotification(r *rand.Rand) Notification {
	return Notification{Key: "n1", DealID: randomText(r, ruleIDLen, r.IntN(2) == 0), Client: randomText(r, ruleTextLen, r.IntN(3) == 0),
		Workstream: randomText(r, ruleTextLen, r.IntN(3) == 0), Channel: "C_DEALS",
		People: deal.People{AE: randomID(r), Presales: randomID(r), PricingApprover: randomID(r), PM: randomID(r), GM: randomID(r)}}
}

// randomTicket is a ticket after any number of rounds: up to 150 counted
// sign-offs and the 50 refused ones the rules keep.
func randomTicket(r *rand.Rand, p deal.People) deal.Ticket {
	tk := deal.Ticket{ID: randomID(r), Owner: p.Presales, DeliverableKind: "scoping_decision_log", ClientSignoffRequired: r.IntN(2) == 0,
		Status: []string{"open", "closed", "cancelled"}[r.IntN(3)], OpenedAt: at, InternalApproved: r.IntN(2) == 0, ClientApproved: r.IntN(2) == 0}
	for i := range r.IntN(150) + r.IntN(50) {
		extreme := r.IntN(3) == 0
		s := deal.Signoff{Seq: i, By: p.Presales, Side: []string{"internal", "client"}[r.IntN(2)], At: at.Add(time.Duration(i) * time.Minute),
			Refused: r.IntN(4) == 0, Reason: randomText(r, ruleTextLen, extreme)}
		if r.IntN(2) == 0 {
			s.Decision, s.Note = "changes_requested", randomText(r, ruleTextLen, extreme)
		} else {
			s.Decision = "approve"
			s.Deliverable = &deal.Deliverable{Kind: tk.DeliverableKind, URL: randomURL(r, ruleURLLen, extreme), Body: randomText(r, ruleBodyLen, extreme)}
		}
		tk.Signoffs = append(tk.Signoffs, s)
	}
	if r.IntN(2) == 0 {
		tk.Deliverable = &deal.Deliverable{Kind: tk.DeliverableKind, URL: randomURL(r, ruleURLLen, r.IntN(2) == 0), Body: randomText(r, ruleBodyLen, r.IntN(2) == 0)}
	}
	return tk
}

func randomMargin(r *rand.Rand) *deal.Margin {
	d := func() decimal.Decimal { return decimal.New(r.Int64N(1e12)-5e11, -int32(r.IntN(7))) }
	pct := d()
	return &deal.Margin{Revenue: d(), ActualCost: d(), EAC: d(), ForecastMarginPct: d(), TargetMarginPct: d(), DriftPts: d(), PctComplete: &pct}
}

// randomID is what a person or id field may hold: up to 128 of the characters
// the rules allow a Slack user id.
func randomID(r *rand.Rand) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
	n := 1 + r.IntN(ruleIDLen)
	if r.IntN(3) == 0 {
		n = ruleIDLen
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

// randomText is free text of at most limit bytes, full length when extreme, with
// what mrkdwn treats specially and characters of several bytes.
func randomText(r *rand.Rand, limit int, extreme bool) string {
	pieces := []string{"a", "word ", "<", ">", "&", "|", "*", "_", "`", "~", "\n", "  ", "<!channel>", "<@U1>", "é", "日本", "🙂", "&amp;", "https://x.example.com/a?b=1&c=2"}
	n := r.IntN(limit + 1)
	if extreme {
		n = limit
	}
	// A random run of up to 600 bytes, repeated: long texts stay cheap to
	// make and every special piece still lands anywhere in them.
	var b strings.Builder
	for b.Len() < min(n, 600) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	s := strings.Repeat(b.String(), n/max(b.Len(), 1)+1)
	// Cut to n bytes, dropping a character the cut split.
	return strings.ToValidUTF8(s[:n], "")
}

// randomURL is a link of at most limit bytes; some hold characters that cannot
// stand in mrkdwn's <url|text>.
func randomURL(r *rand.Rand, limit int, extreme bool) string {
	base := "https://docs.example.com/"
	if r.IntN(10) == 0 {
		base = "https://docs.example.com/a b|c>"
	}
	n := r.IntN(limit - len(base) + 1)
	if extreme {
		n = limit - len(base)
	}
	return base + strings.Repeat("p", n)
}
