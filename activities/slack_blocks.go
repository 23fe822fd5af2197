package activities

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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
}

func (v ButtonValue) String() string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ParseButtonValue reads a button's value back.
func ParseButtonValue(s string) (ButtonValue, error) {
	var v ButtonValue
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return v, fmt.Errorf("button value %q is not dealflow's: %w", s, err)
	}
	if v.Deal == "" {
		return v, errors.New("button value names no deal")
	}
	return v, nil
}

// SlackMessage is one message: the fallback text (notifications, screen
// readers) and its blocks.
type SlackMessage struct {
	Text   string
	Blocks []slack.Block
}

// TicketMessage shows a presale ticket as it stands: who owns it, what it
// must deliver, the sign-offs so far, and the buttons for what comes next.
// It is posted when the ticket opens and re-rendered after every sign-off.
func TicketMessage(n Notification, t deal.Ticket) SlackMessage {
	v := ButtonValue{Deal: n.DealID, Ticket: t.ID}.String()
	what := human(t.DeliverableKind)
	intro := fmt.Sprintf("<@%s> owns this ticket and delivers the *%s*. Approving means attaching it: the ticket closes only with its deliverable.", t.Owner, what)
	if t.ClientSignoffRequired {
		intro += fmt.Sprintf("\nThe client signs off too; <@%s> records it on the client's behalf.", t.Owner)
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(fmt.Sprintf("%s ticket · %s / %s", title(t.ID), n.Client, n.Workstream))),
		section(intro),
	}
	if lines := signoffLines(t); len(lines) > 0 {
		blocks = append(blocks, sections("*Sign-offs*", lines)...)
	}
	var status string
	var buttons []slack.BlockElement
	switch {
	case signedOff(t):
		status = fmt.Sprintf(":white_check_mark: *Closed* %s: signed off.", when(closedAt(t)))
	case t.Status != "open":
		status = fmt.Sprintf(":no_entry_sign: *%s*.", title(t.Status))
	case !t.InternalApproved:
		status = fmt.Sprintf(":hourglass_flowing_sand: Waiting for <@%s> to approve with the %s, or to ask for changes.", t.Owner, what)
		buttons = []slack.BlockElement{
			button(ActionApprove, v, "Approve", slack.StylePrimary),
			button(ActionRequestChanges, v, "Request changes", ""),
			button(ActionCommitment, v, "Record a commitment", ""),
		}
	default:
		status = fmt.Sprintf(":hourglass_flowing_sand: Approved internally; waiting for the client's sign-off, which <@%s> records.", t.Owner)
		buttons = []slack.BlockElement{
			button(ActionClientApprove, v, "Client approved", slack.StylePrimary),
			button(ActionClientChanges, v, "Client asked for changes", ""),
			button(ActionCommitment, v, "Record a commitment", ""),
		}
	}
	blocks = append(blocks, section(status))
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("ticket", buttons...),
			hint(fmt.Sprintf("Only <@%s>'s sign-off counts. Deal `%s`.", t.Owner, n.DealID)))
	}
	return SlackMessage{Text: ticketText(n, t), Blocks: blocks}
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
	switch {
	case signedOff(t):
		return fmt.Sprintf("%s: %s ticket signed off", dealName(n), t.ID)
	case t.Status != "open":
		return fmt.Sprintf("%s: %s ticket %s", dealName(n), t.ID, t.Status)
	case t.InternalApproved:
		return fmt.Sprintf("%s: %s ticket waits for the client's sign-off, recorded by <@%s>", dealName(n), t.ID, t.Owner)
	}
	return fmt.Sprintf("%s: %s ticket is open for <@%s>, who must deliver the %s", dealName(n), t.ID, t.Owner, human(t.DeliverableKind))
}

// signoffLines lists the sign-offs that counted, oldest first; refused ones
// stay in the record, not in the channel.
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
		if s.Decision == "approve" {
			line := fmt.Sprintf(":white_check_mark: <@%s> approved%s %s", s.By, side, when(s.At))
			if d := deliverableText(s.Deliverable); d != "" {
				line += ": " + d
			}
			lines = append(lines, line)
			continue
		}
		lines = append(lines, fmt.Sprintf(":leftwards_arrow_with_hook: <@%s> asked for changes%s %s: %s", s.By, side, when(s.At), quote(s.Note, 300)))
	}
	return lines
}

func deliverableText(d *deal.Deliverable) string {
	if d == nil {
		return ""
	}
	var parts []string
	if d.URL != "" {
		parts = append(parts, link(d.URL, human(d.Kind)))
	}
	if strings.TrimSpace(d.Body) != "" {
		parts = append(parts, quote(d.Body, 300))
	}
	return strings.Join(parts, " ")
}

// StageMessage announces a stage change and says who acts next. Reaching
// closing carries the AE's Won and Lost buttons.
func StageMessage(n Notification) (SlackMessage, string) {
	c := n.Notice.Change
	p := n.People
	line := fmt.Sprintf(":arrow_right: *%s* moved to *%s*", dealName(n), human(string(c.To)))
	if c.From != "" {
		line = fmt.Sprintf(":arrow_right: *%s* moved from *%s* to *%s*", dealName(n), human(string(c.From)), human(string(c.To)))
	}
	if c.Reason != "" {
		line += ": " + esc(c.Reason)
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
			hint(fmt.Sprintf("Only <@%s> closes the deal. Deal `%s`.", p.AE, n.DealID)))
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
	text := fmt.Sprintf("%s: stage %s → %s", dealName(n), c.From, c.To)
	return SlackMessage{Text: text, Blocks: blocks}, kind
}

// HandoverMessage is the PM's checklist: the presale deliverables with
// their links, every commitment, and what the PM must confirm. The
// interactive copy goes to the PM; the read-only one to the deal's channel,
// where the AE sees it.
func HandoverMessage(n Notification, interactive bool) SlackMessage {
	p := n.People
	no := n.Notice
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain("Handover · " + n.Client + " / " + n.Workstream)),
		section(fmt.Sprintf("The deal is won. <@%s> signs the handover off before delivery starts: review the presale deliverables, "+
			"acknowledge every commitment, state the scope ambiguities (or that there are none) and confirm the resources.", p.PM)),
	}
	var deliverables []string
	for _, t := range no.Tickets {
		line := fmt.Sprintf("• *%s*: ", title(t.ID))
		switch d := t.Deliverable; {
		case d == nil:
			line += human(t.DeliverableKind) + " _(none attached)_"
		case d.URL == "":
			line += human(t.DeliverableKind) + " " + deliverableText(d)
		default:
			line += deliverableText(d)
		}
		if c := clientApproval(t); c != nil {
			line += fmt.Sprintf("; client sign-off recorded by <@%s>", c.By)
			if d := c.Deliverable; d != nil && d.URL != "" {
				line += ": " + link(d.URL, "evidence")
			}
		}
		deliverables = append(deliverables, line)
	}
	if len(deliverables) == 0 {
		deliverables = []string{"_No presale tickets._"}
	}
	blocks = append(blocks, sections("*Presale deliverables*", deliverables)...)
	blocks = append(blocks, sections("*Commitments made during presale*", CommitmentLines(no.Commitments))...)
	if interactive {
		blocks = append(blocks,
			slack.NewActionBlock("handover", button(ActionHandoverSignoff, ButtonValue{Deal: n.DealID}.String(), "Sign off handover", slack.StylePrimary)),
			hint(fmt.Sprintf("The button opens the checklist. Only <@%s>'s sign-off counts. Deal `%s`.", p.PM, n.DealID)))
	} else {
		blocks = append(blocks, note(fmt.Sprintf("Read-only copy for <@%s> and the team: <@%s> signs off from the checklist sent to them.", p.AE, p.PM)))
	}
	text := fmt.Sprintf("%s: won. Handover checklist for <@%s>: %d deliverables, %d commitments", dealName(n), p.PM, len(no.Tickets), len(no.Commitments))
	return SlackMessage{Text: text, Blocks: blocks}
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

// CommitmentLines lists commitments for the handover message and modal.
func CommitmentLines(cs []deal.Commitment) []string {
	if len(cs) == 0 {
		return []string{"_No commitments were recorded._"}
	}
	lines := make([]string, 0, len(cs))
	for _, c := range cs {
		line := fmt.Sprintf("• `%s` %s: %s", c.ID, human(c.Kind), quote(c.Text, 500))
		if c.Value != "" {
			line += " (" + esc(c.Value) + ")"
		}
		lines = append(lines, line+fmt.Sprintf(", by <@%s>", c.By))
	}
	return lines
}

// IncidentMessage reports an incident opening, changing or resolving.
func IncidentMessage(n Notification) SlackMessage {
	i := n.Notice.Incident
	p := n.People
	icon, act := ":warning:", fmt.Sprintf("<@%s> to act.", p.PM)
	switch {
	case i.Status == "resolved":
		icon, act = ":white_check_mark:", fmt.Sprintf("<@%s> and <@%s> informed.", p.PM, p.GM)
	case i.Severity == "critical":
		icon, act = ":rotating_light:", fmt.Sprintf("<@%s> to act; <@%s> informed. The deal is in mitigation until it is resolved.", p.PM, p.GM)
	}
	line := fmt.Sprintf("%s *%s* incident `%s` on *%s* is *%s*: %s", icon, i.Severity, esc(i.IncidentID), dealName(n), i.Status, esc(i.Title))
	blocks := []slack.Block{section(line)}
	if n.Margin != nil {
		blocks = append(blocks, marginFields(*n.Margin))
	}
	return SlackMessage{Text: slackSummary(n), Blocks: append(blocks, note(act))}
}

// MarginMessage reports a margin alert or recovery with the numbers behind
// it and who should act.
func MarginMessage(n Notification) SlackMessage {
	a := n.Notice.Alert
	m := a.Margin
	p := n.People
	icon, act := ":chart_with_downwards_trend:", fmt.Sprintf("<@%s> to act; <@%s> and <@%s> informed.", p.PM, p.AE, p.GM)
	if a.Kind == "recovered" {
		icon, act = ":chart_with_upwards_trend:", fmt.Sprintf("No action needed; <@%s>, <@%s> and <@%s> informed.", p.PM, p.AE, p.GM)
	}
	line := fmt.Sprintf("%s Margin %s on *%s*: %s → *%s* %s", icon, a.Kind, dealName(n), human(a.From), human(a.To), when(a.At))
	blocks := []slack.Block{section(line), marginFields(m), note(act)}
	return SlackMessage{Text: slackSummary(n), Blocks: blocks}
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
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(outcome, 3000)), nil, nil, slack.SectionBlockOptionBlockID(outcomeBlockID)))
	return SlackMessage{Text: text, Blocks: blocks}
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
		line += ": " + esc(c.Reason)
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
	return slack.NewSectionBlock(mrkdwn(truncate(s, 3000)), nil, nil)
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

// slackSummary is Summary made safe for mrkdwn, for a message's text.
func slackSummary(n Notification) string { return summary(n, esc) }

// dealName is for mrkdwn; headers are plain text and take the names as they are.
func dealName(n Notification) string { return esc(n.Client + " / " + n.Workstream) }

func human(s string) string { return strings.ReplaceAll(s, "_", " ") }

func title(s string) string {
	s = human(s)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// esc makes user text safe in mrkdwn: &, < and > are control characters.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func quote(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	return "“" + esc(truncate(s, max)) + "”"
}

func link(url, text string) string {
	if strings.ContainsAny(url, "|<> ") {
		return esc(url)
	}
	return "<" + url + "|" + esc(text) + ">"
}

func truncate(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}
