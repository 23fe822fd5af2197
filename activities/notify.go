package activities

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"dealflow/deal"
)

// Notification is a notice with what a message needs to reach people: the
// deal's channel and who is who.
type Notification struct {
	// Key is unique per deal and notice; posting the same key twice is a no-op.
	Key        string      `json:"key"`
	DealID     string      `json:"deal_id"`
	Client     string      `json:"client"`
	Workstream string      `json:"workstream"`
	Channel    string      `json:"channel"`
	People     deal.People `json:"people"`
	Notice     deal.Notice `json:"notice"`
	// Margin is the deal's margin when the notice was made, so every
	// message can show the numbers.
	Margin *deal.Margin `json:"margin,omitempty"`
}

// Notifier delivers notifications: Slack in production, the log otherwise.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// LogNotifier writes each notification to the log, so the dev mode shows
// what Slack would see when no Slack token is set.
type LogNotifier struct{ Log *slog.Logger }

func (l LogNotifier) Notify(_ context.Context, n Notification) error {
	l.Log.Info("would post to Slack", "deal", n.DealID, "channel", n.Channel, "key", n.Key, "text", Summary(n))
	return nil
}

// Summary is the one-line text of a notification, as the log shows it.
// Slack messages use slackSummary, the same line safe for mrkdwn.
func Summary(n Notification) string { return summary(n, func(s string) string { return s }) }

// summary writes the line with e applied to every value that comes from
// outside (names, reasons, titles, user ids): in Slack's text, a reason of
// <!channel> would otherwise notify the whole channel.
func summary(n Notification, e func(string) string) string {
	no := n.Notice
	p := n.People
	name := e(fmt.Sprintf("%s / %s", n.Client, n.Workstream))
	switch no.Kind {
	case deal.NoticeTicketOpened:
		return fmt.Sprintf("%s: ticket %s is open for <@%s>, who must deliver the %s", name, e(no.Ticket.ID), e(no.Ticket.Owner), e(strings.ReplaceAll(no.Ticket.DeliverableKind, "_", " ")))
	case deal.NoticeSignoff:
		s := no.Signoff
		return fmt.Sprintf("%s: <@%s> %s %s (%s)", name, e(s.By), verb(s.Decision), e(no.Ticket.ID), e(s.Side))
	case deal.NoticeStageChanged:
		c := no.Change
		if c.From == "" {
			return fmt.Sprintf("%s: opened at %s (by %s)", name, c.To, who(c.By, e))
		}
		return fmt.Sprintf("%s: stage %s → %s (%s, by %s)", name, c.From, c.To, e(c.Reason), who(c.By, e))
	case deal.NoticeHandoverOpened:
		return fmt.Sprintf("%s: won. Handover ticket for <@%s>: review %d deliverables and %d commitments, state scope ambiguities, confirm resources, sign off",
			name, e(p.PM), len(no.Tickets), len(no.Commitments))
	case deal.NoticeIncident:
		i := no.Incident
		return fmt.Sprintf("%s: %s incident %s is %s: %s", name, e(i.Severity), e(i.IncidentID), e(i.Status), e(i.Title))
	case deal.NoticeMarginAlert:
		a := no.Alert
		m := a.Margin
		who := fmt.Sprintf("<@%s> to act, <@%s> <@%s> informed", e(p.PM), e(p.AE), e(p.GM))
		if a.Kind == "recovered" {
			who = fmt.Sprintf("no action needed; <@%s> <@%s> <@%s> informed", e(p.PM), e(p.AE), e(p.GM))
		}
		return fmt.Sprintf("%s: margin %s %s → %s. Revenue %s, actual cost %s, EAC %s, forecast margin %s%% against target %s%% (drift %s pts). %s",
			name, e(a.Kind), e(a.From), e(a.To), m.Revenue.StringFixed(2), m.ActualCost.StringFixed(2), m.EAC.StringFixed(2),
			m.ForecastMarginPct.StringFixed(2), m.TargetMarginPct.StringFixed(2), m.DriftPts.StringFixed(2), who)
	}
	return name + ": " + e(no.Kind)
}

// who names the one who acted: a mention for a person, plain "dealflow"
// when the rules moved the deal on their own (no such Slack user exists).
func who(by string, e func(string) string) string {
	if by == deal.Dealflow {
		return deal.Dealflow
	}
	return "<@" + e(by) + ">"
}

func verb(decision string) string {
	if decision == "approve" {
		return "approved"
	}
	return "requested changes on"
}
