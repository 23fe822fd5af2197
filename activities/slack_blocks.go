package activities

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"dealflow/deal"
)

// This file turns notices into Block Kit messages. Everything here is pure:
// the notifier posts what these functions return, and tests read it.

// Action ids of the buttons dealflow posts. The server's interaction handler
// dispatches on them; the button's value (ButtonValue) names the deal and
// ticket.
const (
	ActionApprove         = "approve"
	ActionRequestChanges  = "request_changes"
	ActionClientApprove   = "client_approve"
	ActionClientChanges   = "client_changes"
	ActionClientLink      = "client_link"
	ActionCommitment      = "record_commitment"
	ActionHandoverSignoff = "handover_signoff"
	ActionCloseWon        = "close_won"
	ActionCloseLost       = "close_lost"
)

// Kinds of posted messages, as kept in slack_messages: what a later update
// looks a message up by.
const (
	MsgTicket   = "ticket"
	MsgHandover = "handover"
	MsgClosing  = "closing"
	MsgStage    = "stage"
	MsgIncident = "incident"
	MsgMargin   = "margin_alert"
)

// ButtonValue is what every button carries, so a click names its deal
// without the handler reading the message.
type ButtonValue struct {
	Deal   string `json:"deal"`
	Ticket string `json:"ticket,omitempty"`
	// Question is the question an Answer button answers.
	Question string `json:"question,omitempty"`
}

func (v ButtonValue) String() string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ParseButtonValue reads a button's value back. Slack caps a value at
// 2,000 characters, so a longer one is not a click on dealflow's button
// and is refused by its length before it is parsed.
func ParseButtonValue(s string) (ButtonValue, error) {
	var v ButtonValue
	if len(s) > maxButtonValue {
		return v, fmt.Errorf("button value of %d characters is not dealflow's", len(s))
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return ButtonValue{}, fmt.Errorf("button value %q is not dealflow's: %v", s, err)
	}
	if dec.More() {
		return ButtonValue{}, fmt.Errorf("button value %q holds more than one JSON value", s)
	}
	// Deal ids are checked as the deal's terms were when it opened: any
	// id up to 128 characters, without control characters or slashes.
	if v.Deal == "" || len(v.Deal) > 128 || strings.ContainsAny(v.Deal, "/ ") || strings.IndexFunc(v.Deal, unicode.IsControl) >= 0 {
		return ButtonValue{}, fmt.Errorf("button value %q names no deal", s)
	}
	if v.Ticket != "" && !slices.Contains(append(slices.Clone(deal.PresaleTickets), MsgHandover), v.Ticket) {
		return ButtonValue{}, fmt.Errorf("button value %q names no ticket", s)
	}
	if v.Question != "" && deal.CheckValue("question.id", v.Question) != nil {
		return ButtonValue{}, fmt.Errorf("button value %q names no question", s)
	}
	return v, nil
}

const maxButtonValue = 2000

// SlackMessage is one message: the fallback text (notifications, screen
// readers) and its blocks.
type SlackMessage struct {
	Text   string
	Blocks []slack.Block
	// Short is what is sent instead when Slack refuses Blocks for their
	// content (its limits are partly undocumented): the title, the state,
	// the current buttons and where the rest is, so a refused update never
	// leaves stale buttons behind.
	Short []slack.Block
}

// Renderer builds dealflow's messages. BaseURL is where the worker's deal
// pages are reachable (DEALFLOW_BASE_URL); messages link there for what
// they leave out, and without it they only name the deal page.
type Renderer struct {
	BaseURL string
	// ClientLinks adds the owner's "Link for the client" button to a ticket
	// waiting for the client (CLIENT_LINK_SECRET is set).
	ClientLinks bool
}

// How much of a deal the messages show. Slack refuses a message of more
// than 50 blocks, and one whose blocks hold more than about 12,000
// characters (slackfake.SlackLimits); a deal accepted by the rules may
// hold far more, so the messages show the latest and link to the rest.
const (
	// shownSignoffs are the newest sign-offs a ticket's message shows.
	shownSignoffs = 3
	// signoffLineMax bounds one sign-off line: a 2,000-character link
	// and the start of the notes still fit.
	signoffLineMax = 2600
	// deliverableLineMax bounds one deliverable line of the handover.
	deliverableLineMax = 2200
	// shownCommitments are the most commitment lines a handover shows;
	// the PM's checklist lists every one.
	shownCommitments = 10
	// handoverListBudget is the text the handover's two lists share.
	handoverListBudget = 9000
)

// dealPage names the deal's page for mrkdwn: a link when the base URL is
// known.
func (r Renderer) dealPage(n Notification) string {
	if r.BaseURL == "" {
		return "the deal page"
	}
	return link(strings.TrimRight(r.BaseURL, "/")+"/deals/"+url.PathEscape(n.DealID), "the deal page")
}

// brief is a message's Short: its header, one line of state, the buttons
// it has now (with their hint), and where everything else is.
func (r Renderer) brief(n Notification, head, state string, blocks []slack.Block) []slack.Block {
	var out []slack.Block
	if head != "" {
		out = append(out, slack.NewHeaderBlock(plain(head)))
	}
	out = append(out, section(cut(state, 1000)))
	for _, b := range blocks {
		if b.BlockType() == slack.MBTAction || b.ID() == hintBlockID {
			out = append(out, b)
		}
	}
	return append(out, note(fmt.Sprintf("Slack did not take the whole message; see %s for the rest.", r.dealPage(n))))
}

// TicketMessage shows a presale ticket as it stands: who owns it, what it
// must deliver, the sign-offs so far, and the buttons for what comes next.
// It is posted when the ticket opens and re-rendered after every sign-off.
func TicketMessage(n Notification, t deal.Ticket) SlackMessage { return Renderer{}.TicketMessage(n, t) }

// TicketMessage shows the newest sign-offs only: a ticket may go through
// any number of rounds, and every one would outgrow Slack's limits.
func (r Renderer) TicketMessage(n Notification, t deal.Ticket) SlackMessage {
	v := ButtonValue{Deal: n.DealID, Ticket: t.ID}.String()
	what := clip(human(t.DeliverableKind), 60)
	intro := fmt.Sprintf("<@%s> owns this ticket and delivers the *%s*. Approving means attaching it: the ticket closes only with its deliverable.", t.Owner, what)
	if t.ClientSignoffRequired {
		intro += fmt.Sprintf("\nThe client signs off too; <@%s> records it on the client's behalf.", t.Owner)
	}
	head := fmt.Sprintf("%s ticket · %s / %s", title(t.ID), n.Client, n.Workstream)
	blocks := []slack.Block{slack.NewHeaderBlock(plain(head)), section(intro)}
	if lines := signoffLines(t); len(lines) > 0 {
		shown := lines[max(0, len(lines)-shownSignoffs):]
		heading := "*Sign-offs*"
		if earlier := len(lines) - len(shown); earlier > 0 {
			heading = fmt.Sprintf("*Sign-offs*, the last %d (%d earlier: see %s)", len(shown), earlier, r.dealPage(n))
		}
		blocks = append(blocks, sections(heading, shown)...)
	}
	var status string
	var buttons []slack.BlockElement
	switch {
	case signedOff(t):
		status = fmt.Sprintf(":white_check_mark: *Closed* %s: signed off.", when(closedAt(t)))
	case t.Status != "open":
		status = fmt.Sprintf(":no_entry_sign: *%s*.", clip(title(t.Status), 60))
	case !t.InternalApproved:
		status = fmt.Sprintf(":hourglass_flowing_sand: Waiting for <@%s> to approve with the %s, or to ask for changes.", t.Owner, what)
		buttons = []slack.BlockElement{
			button(ActionApprove, v, "Approve", slack.StylePrimary),
			button(ActionRequestChanges, v, "Request changes", ""),
			button(ActionCommitment, v, "Record a commitment", ""),
		}
	default:
		status = fmt.Sprintf(":hourglass_flowing_sand: Approved internally; waiting for the client's sign-off, which <@%s> records.", t.Owner)
		// With client links on, the link is the way forward: the client's
		// own word beats the owner's account of it.
		onBehalf := slack.StylePrimary
		if r.ClientLinks {
			status += " Or send the client a link to sign off in person."
			buttons, onBehalf = []slack.BlockElement{button(ActionClientLink, v, "Link for the client", slack.StylePrimary)}, ""
		}
		buttons = append(buttons,
			button(ActionClientApprove, v, "Client approved", onBehalf),
			button(ActionClientChanges, v, "Client asked for changes", ""),
			button(ActionCommitment, v, "Record a commitment", ""))
	}
	blocks = append(blocks, section(status))
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("ticket", buttons...),
			hint(fmt.Sprintf("Only <@%s>'s sign-off counts. Deal `%s`.", t.Owner, clip(n.DealID, 60))))
	}
	return SlackMessage{Text: ticketText(n, t), Blocks: blocks, Short: r.brief(n, head, status, blocks)}
}

// signedOff is true for a closed ticket, and for one whose last sign-off
// closes it: the sign-off notice carries the ticket as the sign-off left it,
// a moment before the deal closes it (deal.Record.Apply).
func signedOff(t deal.Ticket) bool {
	return t.Status == "closed" || (t.Status == "open" && t.InternalApproved && (!t.ClientSignoffRequired || t.ClientApproved))
}

func closedAt(t deal.Ticket) time.Time {
	if t.ClosedAt != nil {
		return *t.ClosedAt
	}
	for i := len(t.Signoffs) - 1; i >= 0; i-- {
		if !t.Signoffs[i].Refused {
			return t.Signoffs[i].At
		}
	}
	return t.OpenedAt
}

func ticketText(n Notification, t deal.Ticket) string {
	id := clip(t.ID, 60)
	switch {
	case signedOff(t):
		return fmt.Sprintf("%s: %s ticket signed off", dealName(n), id)
	case t.Status != "open":
		return fmt.Sprintf("%s: %s ticket %s", dealName(n), id, clip(t.Status, 60))
	case t.InternalApproved:
		return fmt.Sprintf("%s: %s ticket waits for the client's sign-off, recorded by <@%s>", dealName(n), id, t.Owner)
	}
	return fmt.Sprintf("%s: %s ticket is open for <@%s>, who must deliver the %s", dealName(n), id, t.Owner, clip(human(t.DeliverableKind), 60))
}

// signoffLines lists the sign-offs that counted, oldest first; refused ones
// stay in the record, not in the channel. A line never outgrows a section.
func signoffLines(t deal.Ticket) []string {
	var lines []string
	for _, s := range t.Signoffs {
		if s.Refused {
			continue
		}
		side := ""
		if s.Side == "client" {
			side = " for the client"
		}
		if c := s.ClientLine(); c != "" {
			// The client signed in person: their name, not the owner's.
			line := fmt.Sprintf(":white_check_mark: %s %s", esc(c), when(s.At))
			if s.Decision != "approve" {
				line = fmt.Sprintf(":leftwards_arrow_with_hook: %s %s: %s", esc(c), when(s.At), quote(s.Note, 300))
			}
			lines = append(lines, cut(line, signoffLineMax))
			continue
		}
		if s.Decision == "approve" {
			line := fmt.Sprintf(":white_check_mark: <@%s> approved%s %s", s.By, side, when(s.At))
			if d := deliverableText(s.Deliverable); d != "" {
				line += ": " + d
			}
			lines = append(lines, cut(line, signoffLineMax))
			continue
		}
		lines = append(lines, cut(fmt.Sprintf(":leftwards_arrow_with_hook: <@%s> asked for changes%s %s: %s", s.By, side, when(s.At), quote(s.Note, 300)), signoffLineMax))
	}
	return lines
}

func deliverableText(d *deal.Deliverable) string {
	if d == nil {
		return ""
	}
	var parts []string
	if d.URL != "" {
		parts = append(parts, link(d.URL, truncate(human(d.Kind), 60)))
	}
	if strings.TrimSpace(d.Body) != "" {
		parts = append(parts, quote(d.Body, 300))
	}
	return strings.Join(parts, " ")
}

// StageMessage announces a stage change and says who acts next. Reaching
// closing carries the AE's Won and Lost buttons.
func StageMessage(n Notification) (SlackMessage, string) { return Renderer{}.StageMessage(n) }

func (r Renderer) StageMessage(n Notification) (SlackMessage, string) {
	c := n.Notice.Change
	p := n.People
	line := fmt.Sprintf(":arrow_right: *%s* moved to *%s*", dealName(n), clip(human(string(c.To)), 60))
	if c.From != "" {
		line = fmt.Sprintf(":arrow_right: *%s* moved from *%s* to *%s*", dealName(n), clip(human(string(c.From)), 60), clip(human(string(c.To)), 60))
	}
	if c.Reason != "" {
		line += ": " + clip(c.Reason, 500)
	}
	line += fmt.Sprintf(" (<@%s>, %s).", c.By, when(c.At))
	blocks := []slack.Block{section(line)}
	kind := MsgStage
	switch c.To {
	case deal.Closing:
		kind = MsgClosing
		v := ButtonValue{Deal: n.DealID}.String()
		won := button(ActionCloseWon, v, "Won", slack.StylePrimary).WithConfirm(slack.NewConfirmationBlockObject(
			plain("Close the deal won?"), mrkdwn("The handover ticket opens for <@"+p.PM+">."), plain("Won"), plain("Not yet")))
		blocks = append(blocks,
			section(fmt.Sprintf("Every presale ticket is signed off. <@%s>: record the outcome.", p.AE)),
			slack.NewActionBlock("closing", won, button(ActionCloseLost, v, "Lost", slack.StyleDanger), button(ActionCommitment, v, "Record a commitment", "")),
			hint(fmt.Sprintf("Only <@%s> closes the deal. Deal `%s`.", p.AE, clip(n.DealID, 60))))
	case deal.Handover:
		blocks = append(blocks, note(fmt.Sprintf("<@%s> has the handover checklist; delivery starts when they sign it off.", p.PM)))
	case deal.InProgress:
		blocks = append(blocks, note(fmt.Sprintf("<@%s> runs delivery and reports progress.", p.PM)))
	case deal.Mitigation:
		blocks = append(blocks, note(fmt.Sprintf(":rotating_light: <@%s> to act; <@%s> informed.", p.PM, p.GM)))
	case deal.Maintenance:
		blocks = append(blocks, note(fmt.Sprintf("<@%s> looks after maintenance.", p.PM)))
	}
	if n.Margin != nil && (c.To.IsDelivery() || c.To == deal.ClosedWon) {
		blocks = append(blocks, marginFields(*n.Margin))
	}
	text := fmt.Sprintf("%s: stage %s → %s", dealName(n), clip(string(c.From), 60), clip(string(c.To), 60))
	return SlackMessage{Text: text, Blocks: blocks, Short: r.brief(n, "", line, blocks)}, kind
}

// HandoverMessage is the PM's checklist: the presale deliverables with
// their links, the commitments, and what the PM must confirm. The
// interactive copy goes to the PM; the read-only one to the deal's channel,
// where the AE sees it.
func HandoverMessage(n Notification, interactive bool) SlackMessage {
	return Renderer{}.HandoverMessage(n, interactive)
}

// HandoverMessage shows as many deliverables and commitments as Slack
// takes and counts the rest, which the deal page and the PM's checklist
// (the modal) list in full.
func (r Renderer) HandoverMessage(n Notification, interactive bool) SlackMessage {
	p := n.People
	no := n.Notice
	head := "Handover · " + n.Client + " / " + n.Workstream
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(head)),
		section(fmt.Sprintf("The deal is won. <@%s> signs the handover off before delivery starts: review the presale deliverables, "+
			"acknowledge every commitment, state the scope ambiguities (or that there are none) and confirm the resources.", p.PM)),
	}
	var deliverables []string
	for _, t := range no.Tickets {
		line := fmt.Sprintf("• *%s*: ", clip(title(t.ID), 60))
		kind := clip(human(t.DeliverableKind), 60)
		switch d := t.Deliverable; {
		case d == nil:
			line += kind + " _(none attached)_"
		case d.URL == "":
			line += kind + " " + deliverableText(d)
		default:
			line += deliverableText(d)
		}
		if c := clientApproval(t); c != nil && c.Client != nil {
			line += "; client " + esc(c.ClientLine())
		} else if c != nil {
			line += fmt.Sprintf("; client sign-off recorded by <@%s>", c.By)
			if d := c.Deliverable; d != nil && d.URL != "" {
				line += ": " + link(d.URL, "evidence")
			}
		}
		deliverables = append(deliverables, cut(line, deliverableLineMax))
	}
	if len(deliverables) == 0 {
		deliverables = []string{"_No presale tickets._"}
	}
	budget := handoverListBudget
	shown, used := fit(deliverables, budget, len(deliverables))
	budget -= used
	blocks = append(blocks, sections("*Presale deliverables*", r.andMore(n, shown, len(deliverables)))...)
	// Only the lines that may be shown are made: a deal may hold hundreds.
	shown, _ = fit(CommitmentLines(no.Commitments[:min(len(no.Commitments), shownCommitments)]), budget, shownCommitments)
	blocks = append(blocks, sections("*Commitments made during presale*", r.andMore(n, shown, max(len(no.Commitments), 1)))...)
	state := fmt.Sprintf("The deal is won. <@%s> signs the handover off before delivery starts: %d presale deliverables and %d commitments to review.",
		p.PM, len(no.Tickets), len(no.Commitments))
	if interactive {
		blocks = append(blocks,
			slack.NewActionBlock("handover", button(ActionHandoverSignoff, ButtonValue{Deal: n.DealID}.String(), "Sign off handover", slack.StylePrimary),
				askAE(n)),
			hint(fmt.Sprintf("The button opens the checklist. Only <@%s>'s sign-off counts. <@%s> or <@%s> can ask <@%s> what was sold. Deal `%s`.",
				p.PM, p.PM, p.GM, p.AE, clip(n.DealID, 60))))
	} else {
		readOnly := fmt.Sprintf("Read-only copy for <@%s> and the team: <@%s> signs off from the checklist sent to them. <@%s> or <@%s> can ask <@%s> what was sold.",
			p.AE, p.PM, p.PM, p.GM, p.AE)
		blocks = append(blocks, slack.NewActionBlock("ask", askAE(n)), note(readOnly))
		state += " " + readOnly
	}
	text := fmt.Sprintf("%s: won. Handover checklist for <@%s>: %d deliverables, %d commitments", dealName(n), p.PM, len(no.Tickets), len(no.Commitments))
	return SlackMessage{Text: text, Blocks: blocks, Short: r.brief(n, head, state, blocks)}
}

// fit takes lines from the start while they fit in budget characters and
// max lines, and says how much of the budget they used.
func fit(lines []string, budget, max int) (shown []string, used int) {
	for _, l := range lines {
		n := utf8.RuneCountInString(l) + 1
		if len(shown) == max || used+n > budget {
			break
		}
		shown, used = append(shown, l), used+n
	}
	return shown, used
}

// andMore is shown with a line counting what it leaves out of all, if
// anything.
func (r Renderer) andMore(n Notification, shown []string, all int) []string {
	if len(shown) >= all {
		return shown
	}
	return append(slices.Clone(shown), fmt.Sprintf("_…and %d more on %s._", all-len(shown), r.dealPage(n)))
}

// clientApproval is the client's sign-off that counted, if any.
func clientApproval(t deal.Ticket) *deal.Signoff {
	if !t.ClientApproved {
		return nil
	}
	for i := len(t.Signoffs) - 1; i >= 0; i-- {
		if s := t.Signoffs[i]; !s.Refused && s.Side == "client" && s.Decision == "approve" {
			return &t.Signoffs[i]
		}
	}
	return nil
}

// CommitmentLines lists commitments for the handover message, each line
// short enough that several fit in one message.
func CommitmentLines(cs []deal.Commitment) []string {
	if len(cs) == 0 {
		return []string{"_No commitments were recorded._"}
	}
	lines := make([]string, 0, len(cs))
	for _, c := range cs {
		line := fmt.Sprintf("• `%s` %s: %s", clip(c.ID, 60), clip(human(c.Kind), 60), quote(c.Text, 300))
		if c.Value != "" {
			line += " (" + clip(c.Value, 100) + ")"
		}
		lines = append(lines, line+fmt.Sprintf(", by <@%s>", c.By))
	}
	return lines
}

// IncidentMessage reports an incident opening, changing or resolving.
func IncidentMessage(n Notification) SlackMessage { return Renderer{}.IncidentMessage(n) }

func (r Renderer) IncidentMessage(n Notification) SlackMessage {
	i := n.Notice.Incident
	p := n.People
	icon, act := ":warning:", fmt.Sprintf("<@%s> to act.", p.PM)
	switch {
	case i.Status == "resolved":
		icon, act = ":white_check_mark:", fmt.Sprintf("<@%s> and <@%s> informed.", p.PM, p.GM)
	case i.Severity == "critical":
		icon, act = ":rotating_light:", fmt.Sprintf("<@%s> to act; <@%s> informed. The deal is in mitigation until it is resolved.", p.PM, p.GM)
	}
	line := fmt.Sprintf("%s *%s* incident `%s` on *%s* is *%s*: %s", icon, clip(i.Severity, 60), clip(i.IncidentID, 60), dealName(n),
		clip(i.Status, 60), clip(i.Title, 500))
	blocks := []slack.Block{section(line)}
	if n.Margin != nil {
		blocks = append(blocks, marginFields(*n.Margin))
	}
	blocks = append(blocks, note(act))
	return SlackMessage{Text: slackSummary(n), Blocks: blocks, Short: r.brief(n, "", line, nil)}
}

// MarginMessage reports a margin alert or recovery with the numbers behind
// it and who should act.
func MarginMessage(n Notification) SlackMessage { return Renderer{}.MarginMessage(n) }

func (r Renderer) MarginMessage(n Notification) SlackMessage {
	a := n.Notice.Alert
	m := a.Margin
	p := n.People
	icon, act := ":chart_with_downwards_trend:", fmt.Sprintf("<@%s> to act; <@%s> and <@%s> informed.", p.PM, p.AE, p.GM)
	if a.Kind == "recovered" {
		icon, act = ":chart_with_upwards_trend:", fmt.Sprintf("No action needed; <@%s>, <@%s> and <@%s> informed.", p.PM, p.AE, p.GM)
	}
	line := fmt.Sprintf("%s Margin %s on *%s*: %s → *%s* %s", icon, clip(a.Kind, 60), dealName(n), clip(human(a.From), 60), clip(human(a.To), 60), when(a.At))
	blocks := []slack.Block{section(line), marginFields(m), note(act)}
	return SlackMessage{Text: slackSummary(n), Blocks: blocks, Short: r.brief(n, "", line, nil)}
}

// marginFields are the numbers every delivery message shows, so the PM, AE
// and GM read the same figures wherever they look.
func marginFields(m deal.Margin) *slack.SectionBlock {
	fields := []*slack.TextBlockObject{
		mrkdwn("*Revenue*\n" + m.Revenue.StringFixed(2)),
		mrkdwn("*Actual cost*\n" + m.ActualCost.StringFixed(2)),
		mrkdwn("*EAC* (estimate at completion)\n" + m.EAC.StringFixed(2)),
		mrkdwn(fmt.Sprintf("*Forecast margin*\n%s%% against target %s%%", m.ForecastMarginPct.StringFixed(2), m.TargetMarginPct.StringFixed(2))),
		mrkdwn(fmt.Sprintf("*Drift*\n%s pts", m.DriftPts.StringFixed(2))),
	}
	if m.PctComplete != nil {
		fields = append(fields, mrkdwn(fmt.Sprintf("*Complete*\n%s%%", m.PctComplete.StringFixed(0))))
	}
	return slack.NewSectionBlock(nil, fields, nil)
}

// Settled is a message after its decision was taken: the buttons go, the
// content stays, and a last line says who did what and when.
func Settled(m SlackMessage, text, outcome string) SlackMessage {
	var blocks []slack.Block
	for _, b := range m.Blocks {
		// The hint under the buttons ("only X's click counts") goes with
		// them, and an earlier outcome is replaced, so settling twice (a
		// retried activity) shows one outcome.
		if b.BlockType() == slack.MBTAction || b.ID() == hintBlockID || b.ID() == outcomeBlockID {
			continue
		}
		blocks = append(blocks, b)
	}
	last := slack.NewSectionBlock(mrkdwn(cut(outcome, 3000)), nil, nil, slack.SectionBlockOptionBlockID(outcomeBlockID))
	// Should Slack refuse the whole, the first block (the title, or what
	// happened) and the outcome still replace the buttons.
	short := []slack.Block{last}
	if len(blocks) > 0 {
		short = []slack.Block{blocks[0], last}
	}
	return SlackMessage{Text: text, Blocks: append(blocks, last), Short: short}
}

const outcomeBlockID = "outcome"

// ClosedOutcome is the last line of the closing message once the AE decided.
func ClosedOutcome(n Notification) string {
	c := n.Notice.Change
	verb := ":trophy: Closed *won*"
	if c.To == deal.ClosedLost {
		verb = ":x: Closed *lost*"
	}
	line := fmt.Sprintf("%s by <@%s> %s", verb, c.By, when(c.At))
	if c.Reason != "" && c.Reason != "closed won" {
		line += ": " + clip(c.Reason, 500)
	}
	return line + "."
}

// HandoverOutcome is the last line of the handover messages once signed off.
func HandoverOutcome(n Notification) string {
	c := n.Notice.Change
	return fmt.Sprintf(":white_check_mark: Handover signed off by <@%s> %s: delivery has started.", c.By, when(c.At))
}

// CancelledOutcome is the last line of an open ticket's message when the
// deal is lost.
func CancelledOutcome(n Notification) string {
	c := n.Notice.Change
	return fmt.Sprintf(":no_entry_sign: Cancelled: the deal was lost (<@%s>, %s).", c.By, when(c.At))
}

// Block Kit helpers.

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, truncate(s, 150), true, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func section(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(cut(s, 3000)), nil, nil)
}

func note(s string) *slack.ContextBlock {
	return slack.NewContextBlock("", mrkdwn(s))
}

// hintBlockID marks the line under a message's buttons, which Settled
// removes with them.
const hintBlockID = "hint"

func hint(s string) *slack.ContextBlock {
	return slack.NewContextBlock(hintBlockID, mrkdwn(s))
}

// sections lays a titled list out in as many section blocks as Slack's
// 3000-character limit needs.
func sections(head string, lines []string) []slack.Block {
	var out []slack.Block
	cur := head
	for _, l := range lines {
		if len(cur)+1+len(l) > 3000 {
			out = append(out, section(cur))
			cur = ""
		}
		if cur != "" {
			cur += "\n"
		}
		cur += l
	}
	return append(out, section(cur))
}

func button(actionID, value, text string, style slack.Style) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(actionID, value, plain(text))
	if style != "" {
		b = b.WithStyle(style)
	}
	return b
}

// when shows a time in each reader's own time zone, with UTC as fallback.
func when(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// slackSummary is Summary made safe for mrkdwn, for a message's text, with
// every value from outside kept short.
func slackSummary(n Notification) string {
	return summary(n, func(s string) string { return clip(s, 300) })
}

// dealName is for mrkdwn; headers are plain text and take the names as they are.
func dealName(n Notification) string { return SlackDealName(n.Client, n.Workstream) }

// SlackDealName is "client / workstream" for mrkdwn: escaped, and each
// name cut short, since the rules let a name run to 4,000 characters and a
// section holds 3,000.
func SlackDealName(client, workstream string) string {
	return clip(client, 100) + " / " + clip(workstream, 100)
}

func human(s string) string { return strings.ReplaceAll(s, "_", " ") }

func title(s string) string {
	r := []rune(human(s))
	if len(r) == 0 {
		return ""
	}
	return strings.ToUpper(string(r[:1])) + string(r[1:])
}

var mrkdwnEscapes = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// esc makes user text safe in mrkdwn: &, < and > are control characters.
func esc(s string) string { return mrkdwnEscapes.Replace(s) }

// quote is user text on one line, quoted and clipped.
func quote(s string, max int) string {
	// Whitespace runs shrink to one space, so a prefix a few times max
	// is plenty; a 20,000-character body need not be read whole.
	s, _ = prefix(s, 4*max)
	return "“" + clip(strings.Join(strings.Fields(s), " "), max) + "”"
}

// prefix is s's first max runes, and whether that is all of s.
func prefix(s string, max int) (string, bool) {
	i := 0
	for n := range s {
		if i == max {
			return s[:n], false
		}
		i++
	}
	return s, true
}

// link is a mrkdwn link; a URL that would break the <url|text> markup is
// shown as text instead, cut short since it cannot be followed anyway.
func link(url, text string) string {
	if strings.ContainsAny(url, "|<> \t\r\n") {
		return clip(url, 300)
	}
	return "<" + url + "|" + esc(text) + ">"
}

// clip is text from outside made safe for mrkdwn and cut to max
// characters. Escaping comes first, so the cut counts what Slack counts.
func clip(s string, max int) string {
	// Escaping only lengthens text, so no more than max runes of s can
	// show; the "…" marks what was left out.
	p, whole := prefix(s, max)
	if whole {
		return cut(esc(p), max)
	}
	return cut(esc(p)+"…", max)
}

// SlackText is clip for the server's modals.
func SlackText(s string, max int) string { return clip(s, max) }

// cut shortens mrkdwn to max characters, ending in "…". It never ends
// inside a link, mention or date (<…>) or an escape (&amp;), which Slack
// would show as broken markup: the cut moves back before them.
func cut(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	end := max - 1
	open, amp := -1, -1
	for i := 0; i < end; i++ {
		if amp >= 0 && i-amp >= len("&amp;") {
			amp = -1
		}
		switch r[i] {
		case '<':
			open, amp = i, -1
		case '>':
			open, amp = -1, -1
		case '&':
			if open < 0 {
				amp = i
			}
		case ';':
			amp = -1
		}
	}
	switch {
	case open >= 0:
		end = open
	case amp >= 0:
		end = amp
	}
	return string(r[:end]) + "…"
}

func truncate(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}
