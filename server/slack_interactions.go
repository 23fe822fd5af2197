package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"dealflow/activities"
	"dealflow/clientlink"
	"dealflow/db"
	"dealflow/deal"
	"dealflow/workflows"
)

// handle is where both paths end, HTTP and Socket Mode. It returns what to
// answer Slack with: nil for an empty 200 (which also closes a submitted
// modal), or a response that shows input errors in the modal; and whether
// it took the interaction. One not taken (the server is stopping) must not
// be acknowledged: an acknowledged click is a click applied.
//
// Everything slower than reading the payload runs after the answer (async):
// the workflow update behind a sign-off is usually quick, but Slack gives 3
// seconds and a busy Temporal may need more, so the clicker learns the
// outcome from an ephemeral message instead of the HTTP answer.
func (a *slackApp) handle(ic slack.InteractionCallback) (any, bool) {
	a.handled.Add(1)
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		for _, act := range ic.ActionCallback.BlockActions {
			act := *act
			if !a.async(func(ctx context.Context) { a.click(ctx, ic, act) }) {
				return nil, false
			}
		}
	case slack.InteractionTypeViewSubmission:
		sub, inputErrs, err := readSubmission(ic.User.ID, ic.View)
		if err != nil {
			a.log.Warn("slack: a submitted view is not dealflow's", "user", ic.User.ID, "error", err)
			return nil, true
		}
		if len(inputErrs) > 0 {
			return slack.NewErrorsViewSubmissionResponse(inputErrs), true
		}
		// A modal submission carries no action_ts: its view and the view's
		// hash name it, so Slack's retry of the same submission is one.
		sub.Key = slackKey("view", ic.View.ID, ic.View.Hash, ic.User.ID)
		return nil, a.async(func(ctx context.Context) {
			if sub, ok := a.acknowledged(ctx, ic.User.ID, sub); ok {
				a.send(ctx, ic.User.ID, sub)
			}
		})
	}
	return nil, true
}

// click answers a button: most open a modal asking for what the signal
// needs; Won sends at once (its button asks for confirmation first).
func (a *slackApp) click(ctx context.Context, ic slack.InteractionCallback, act slack.BlockAction) {
	user := ic.User.ID
	v, err := activities.ParseButtonValue(act.Value)
	if err != nil {
		a.log.Warn("slack: a click on a button that is not dealflow's", "user", user, "action", act.ActionID, "error", err)
		return
	}
	meta := modalMeta{Deal: v.Deal, Ticket: v.Ticket, Question: v.Question, Channel: ic.Container.ChannelID, TS: ic.Container.MessageTs}
	if meta.Channel == "" {
		meta.Channel = ic.Channel.ID
	}
	switch act.ActionID {
	case activities.ActionApprove:
		a.openSignoff(ctx, ic, meta, "internal", "approve")
	case activities.ActionRequestChanges:
		a.openSignoff(ctx, ic, meta, "internal", "changes_requested")
	case activities.ActionClientApprove:
		a.openSignoff(ctx, ic, meta, "client", "approve")
	case activities.ActionClientChanges:
		a.openSignoff(ctx, ic, meta, "client", "changes_requested")
	case activities.ActionClientLink:
		a.clientLink(ctx, user, meta)
	case activities.ActionCommitment:
		if rec, ok := a.record(ctx, user, meta); ok {
			a.openView(ctx, ic.TriggerID, user, meta, commitmentModal(meta, dealName(rec)))
		}
	case activities.ActionHandoverSignoff:
		a.openHandover(ctx, ic, meta)
	case activities.ActionAskAE:
		a.openAsk(ctx, ic, meta) // slack_questions.go
	case activities.ActionAnswer:
		a.openAnswer(ctx, ic, meta)
	case activities.ActionCloseWon:
		a.send(ctx, user, submission{Meta: meta, Signal: deal.SigClose, Payload: slackJSON(deal.CloseSignal{Outcome: "won", By: user}),
			Key:  slackKey("click", act.ActionID, act.ActionTs, ic.Container.MessageTs, user),
			Done: "the deal is closed won; the PM has the handover checklist"})
	case activities.ActionCloseLost:
		rec, ok := a.record(ctx, user, meta)
		if !ok {
			return
		}
		if ae := rec.Terms.People.AE; ae != user {
			a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Only <@%s> closes this deal; your click changed nothing.", ae))
			return
		}
		a.openView(ctx, ic.TriggerID, user, meta, closeLostModal(meta, dealName(rec)))
	default:
		a.log.Warn("slack: unknown action", "user", user, "action", act.ActionID)
	}
}

// openSignoff opens the sign-off modal for the ticket's owner. Anyone else
// learns at once that their click counts for nothing; the workflow still
// checks the submission, and it alone decides.
func (a *slackApp) openSignoff(ctx context.Context, ic slack.InteractionCallback, meta modalMeta, side, decision string) {
	user := ic.User.ID
	rec, ok := a.record(ctx, user, meta)
	if !ok {
		return
	}
	var t *deal.Ticket
	for i := range rec.Tickets {
		if rec.Tickets[i].ID == meta.Ticket {
			t = &rec.Tickets[i]
		}
	}
	switch {
	case t == nil:
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Deal `%s` has no %s ticket; your click changed nothing.", meta.Deal, meta.Ticket))
	case t.Status != "open":
		a.tell(ctx, user, meta, fmt.Sprintf(":information_source: The %s ticket is already %s; your click changed nothing.", t.ID, t.Status))
	case t.Owner != user:
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Only <@%s> signs off the %s ticket; your click changed nothing.", t.Owner, t.ID))
	default:
		meta.Side, meta.Decision = side, decision
		a.openView(ctx, ic.TriggerID, user, meta, signoffModal(meta, *t, dealName(rec)))
	}
}

// clientLink answers the owner's "Link for the client" with a link only
// they see; anyone else learns that only the owner gets one.
func (a *slackApp) clientLink(ctx context.Context, user string, meta modalMeta) {
	if a.links == nil {
		a.tell(ctx, user, meta, ":no_entry: Client links are off on this dealflow (CLIENT_LINK_SECRET is not set).")
		return
	}
	t, err := a.store.LoadTicket(ctx, meta.Deal, meta.Ticket, 0)
	if err != nil {
		a.log.Warn("slack: reading the ticket for a client link", "deal", meta.Deal, "ticket", meta.Ticket, "error", err)
		a.tell(ctx, user, meta, ":warning: The ticket could not be read; no link was made. Try again in a minute.")
		return
	}
	if t.Owner != user {
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Only <@%s>, who owns the %s ticket, gets the client's link.", t.Owner, t.ID))
		return
	}
	l, err := a.links.Issue(ctx, meta.Deal, meta.Ticket, user)
	switch {
	case errors.Is(err, clientlink.ErrNotNeeded), errors.Is(err, clientlink.ErrNotReady):
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: No link made: %s.", err))
		return
	case err != nil:
		a.log.Error("slack: issuing a client link", "deal", meta.Deal, "ticket", meta.Ticket, "error", err)
		a.tell(ctx, user, meta, ":warning: No link was made; try again in a minute.")
		return
	}
	a.log.Info("client link issued", "deal", meta.Deal, "ticket", meta.Ticket, "link", l.ID, "by", user)
	a.tellSecret(ctx, user, meta, fmt.Sprintf(":link: The link for the client's sign-off of the %s ticket (only you see this): %s\n"+
		"Send it to the client yourself. It works until %s for one decision, and stops if the deliverable changes. "+
		"Revoke it on the deal page or with `starter client-link --deal %s --ticket %s --revoke`.",
		t.ID, l.URL(a.baseURL), l.ExpiresAt.Format("2006-01-02 15:04 MST"), meta.Deal, meta.Ticket))
}

// openHandover opens the checklist for the assigned PM.
func (a *slackApp) openHandover(ctx context.Context, ic slack.InteractionCallback, meta modalMeta) {
	user := ic.User.ID
	rec, ok := a.record(ctx, user, meta)
	if !ok {
		return
	}
	h := rec.Handover
	switch {
	case h == nil:
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Deal `%s` has no handover ticket; your click changed nothing.", meta.Deal))
	case h.Status != "open":
		a.tell(ctx, user, meta, fmt.Sprintf(":information_source: The handover was already signed off by <@%s>; your click changed nothing.", h.SignedOffBy))
	case h.PM != user:
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Only <@%s>, the assigned PM, signs off the handover; your click changed nothing.", h.PM))
	default:
		a.openView(ctx, ic.TriggerID, user, meta, handoverModal(meta, rec.Commitments, dealName(rec)))
	}
}

// send applies one signal through the workflow's update, which answers
// with the outcome, and tells the clicker. Sign-off ids come from the
// Slack view, so a double submission is recorded once.
func (a *slackApp) send(ctx context.Context, user string, sub submission) {
	res, err := workflows.SendOnce(ctx, a.temporal, a.store, sub.Meta.Deal, sub.Signal, workflows.WithKey(sub.Payload, sub.Key))
	var text string
	switch {
	case errors.Is(err, workflows.ErrUnknownDeal):
		text = fmt.Sprintf(":no_entry: Deal `%s` is unknown or already closed; nothing was recorded.", sub.Meta.Deal)
	case err != nil:
		a.log.Error("slack: a click could not reach its deal", "deal", sub.Meta.Deal, "signal", sub.Signal, "error", err)
		text = ":warning: The deal did not answer, so this may not be recorded. The message shows what is; clicking again is harmless."
	case res.Status == deal.Accepted:
		text = ":white_check_mark: Done: " + sub.Done + "."
	case res.Status == deal.Duplicate:
		text = ":information_source: Already recorded; nothing changed."
	default:
		text = fmt.Sprintf(":no_entry: Not taken: %s. Nothing changed.", res.Reason)
	}
	if err == nil {
		a.log.Info("slack click", "deal", sub.Meta.Deal, "user", user, "signal", sub.Signal, "status", res.Status, "reason", res.Reason)
	}
	a.tell(ctx, user, sub.Meta, text)
}

// acknowledged completes a handover sign-off with the commitments the PM
// ticked, which the checklist names by position in the deal's record.
func (a *slackApp) acknowledged(ctx context.Context, user string, sub submission) (submission, bool) {
	if sub.handover == nil {
		return sub, true
	}
	rec, ok := a.record(ctx, user, sub.Meta)
	if !ok {
		return sub, false
	}
	sub, err := sub.withCommitments(rec.Commitments)
	if err != nil {
		a.log.Warn("slack: a handover checklist does not match its deal", "deal", sub.Meta.Deal, "user", user, "error", err)
		a.tell(ctx, user, sub.Meta, fmt.Sprintf(":warning: Not taken: %s. Nothing changed; open the checklist again.", err))
		return sub, false
	}
	return sub, true
}

// record reads the deal for a click; when it cannot, the clicker is told.
func (a *slackApp) record(ctx context.Context, user string, meta modalMeta) (*deal.Record, bool) {
	rec, err := a.store.LoadRecord(ctx, meta.Deal)
	switch {
	case errors.Is(err, db.ErrNotFound):
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Deal `%s` is unknown or already closed; your click changed nothing.", meta.Deal))
		return nil, false
	case err != nil:
		a.log.Error("slack: reading the deal for a click", "deal", meta.Deal, "error", err)
		a.tell(ctx, user, meta, ":warning: The deal did not answer; your click changed nothing. Try again in a minute.")
		return nil, false
	}
	return rec, true
}

// openView opens a modal with the click's trigger id (valid 3 seconds).
func (a *slackApp) openView(ctx context.Context, triggerID, user string, meta modalMeta, view slack.ModalViewRequest) {
	err := activities.SlackCall(ctx, func() error {
		_, err := a.api.OpenViewContext(ctx, triggerID, view)
		return err
	})
	switch {
	case activities.ContentRefused(err):
		// The same form would be refused again: saying so beats asking for
		// another click.
		a.log.Error("slack: views.open refused the form dealflow built", "deal", meta.Deal, "user", user, "view", view.CallbackID, "error", err)
		a.tell(ctx, user, meta, ":warning: Slack refused to open this form, and clicking again will not change that. Nothing was recorded; please tell whoever runs dealflow.")
	case err != nil:
		a.log.Error("slack: views.open", "deal", meta.Deal, "user", user, "error", err)
		a.tell(ctx, user, meta, ":warning: Slack did not open the form; click the button again.")
	}
}

// tell shows the clicker an ephemeral message where they clicked.
func (a *slackApp) tell(ctx context.Context, user string, meta modalMeta, text string) {
	if err := a.post(ctx, user, meta, text); err != nil {
		a.log.Warn("slack: could not tell the clicker", "deal", meta.Deal, "user", user, "text", text, "error", err)
	}
}

// tellSecret is tell for a text holding a credential (a client link): a
// failure is logged without the text, since whoever reads the log must
// not get the link.
func (a *slackApp) tellSecret(ctx context.Context, user string, meta modalMeta, text string) {
	if err := a.post(ctx, user, meta, text); err != nil {
		a.log.Warn("slack: could not give the owner the client link; they can click again", "deal", meta.Deal, "user", user, "error", err)
	}
}

func (a *slackApp) post(ctx context.Context, user string, meta modalMeta, text string) error {
	return activities.SlackCall(ctx, func() error {
		var err error
		if meta.Channel == "" {
			_, _, err = a.api.PostMessageContext(ctx, user, slack.MsgOptionText(text, false))
		} else {
			_, err = a.api.PostEphemeralContext(ctx, meta.Channel, user, slack.MsgOptionText(text, false))
		}
		return err
	})
}

// dealName is safe in mrkdwn and short enough for a modal's section.
func dealName(r *deal.Record) string {
	return activities.SlackDealName(r.Terms.Client, r.Terms.Workstream)
}

// slackKey is the idempotency key of a Slack interaction: a hash of what
// names it (docs/idempotency.md), so Slack's retries, a redelivery after a
// worker restart and a late duplicate all apply once.
func slackKey(kind string, parts ...string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + strings.Join(parts, "\x00")))
	return "slack-" + kind + "-" + hex.EncodeToString(h[:16])
}
