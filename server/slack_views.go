package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"dealflow/activities"
	"dealflow/deal"
)

// This file holds the modals a click opens and the reading of what was
// submitted in them. It is pure: no Slack calls, no workflow calls.

// Callback ids of dealflow's modals.
const (
	viewSignoff    = "signoff"
	viewCommitment = "commitment"
	viewHandover   = "handover"
	viewCloseLost  = "close_lost"
)

// modalMeta travels in a modal's private_metadata: what the modal is about
// and the message it was opened from, so the submission needs no state on
// this side (a click after a restart works the same).
type modalMeta struct {
	Deal     string `json:"deal"`
	Ticket   string `json:"ticket,omitempty"`
	Side     string `json:"side,omitempty"`
	Decision string `json:"decision,omitempty"`
	Channel  string `json:"channel"`
	TS       string `json:"ts"`
	// Commitments is how many commitments the handover checklist listed.
	Commitments int `json:"commitments,omitempty"`
	// Question is the question an answer modal answers.
	Question string `json:"question,omitempty"`
}

func (m modalMeta) String() string {
	b, _ := json.Marshal(m)
	return string(b)
}

// signoffModal asks for what a sign-off needs: the deliverable (a link,
// notes or both) for an approval, a note for a change request.
func signoffModal(meta modalMeta, t deal.Ticket, dealName string) slack.ModalViewRequest {
	what := activities.SlackText(strings.ReplaceAll(t.DeliverableKind, "_", " "), 60)
	id := activities.SlackText(t.ID, 60)
	var title, intro, submit string
	var blocks []slack.Block
	switch {
	case meta.Decision == "approve" && meta.Side == "internal":
		title, submit = "Approve "+t.ID, "Sign off"
		intro = fmt.Sprintf("You approve the *%s* ticket of *%s*. Submitting is the sign-off, and it needs the *%s*: a link, notes or both.", id, dealName, what)
		blocks = deliverableInputs("Link to the "+what, "Notes", "What the "+what+" says, or what to read first")
	case meta.Decision == "approve":
		title, submit = "Client approval", "Record approval"
		intro = fmt.Sprintf("You record that the client approved the *%s* ticket of *%s*. Attach their approval: a link (email, signed document), notes or both.", id, dealName)
		blocks = deliverableInputs("Link to the client's approval", "Notes", "Who approved, when, and anything they added")
	default:
		title, submit = "Request changes", "Send"
		if meta.Side == "client" {
			title = "Client changes"
			intro = fmt.Sprintf("You record that the client asked for changes to the *%s* ticket of *%s*. The ticket goes back for rework.", id, dealName)
		} else {
			intro = fmt.Sprintf("You ask for changes to the *%s* of *%s*. The ticket goes back for rework.", what, dealName)
		}
		blocks = []slack.Block{slack.NewInputBlock(blockNote, slackPlain("What should change?"), nil,
			slack.NewPlainTextInputBlockElement(slackPlain("Be specific: the owner reworks from this."), actionNote).WithMultiline(true).WithMaxLength(3000))}
	}
	blocks = append([]slack.Block{slack.NewSectionBlock(slackMrkdwn(intro), nil, nil)}, blocks...)
	return slackModal(viewSignoff, title, submit, meta, blocks)
}

// Block and action ids of the modals' inputs.
const (
	blockURL       = "deliverable_url"
	actionURL      = "url"
	blockNotes     = "deliverable_notes"
	actionNotes    = "notes"
	blockNote      = "note"
	actionNote     = "note"
	blockReviewed  = "deliverables_reviewed"
	blockResources = "resources_confirmed"
	actionCheck    = "check"
	blockAcksPref  = "commitments_"
	actionAcks     = "acks"
	blockAmbig     = "scope_ambiguities"
	actionAmbig    = "ambiguities"
	blockKind      = "kind"
	actionKind     = "kind"
	blockText      = "text"
	actionText     = "text"
	blockValue     = "value"
	actionValue    = "value"
	blockReason    = "reason"
	actionReason   = "reason"
)

func deliverableInputs(urlLabel, notesLabel, notesHint string) []slack.Block {
	return []slack.Block{
		slack.NewInputBlock(blockURL, slackPlain(urlLabel), nil, slack.NewURLTextInputBlockElement(slackPlain("https://"), actionURL)).WithOptional(true),
		slack.NewInputBlock(blockNotes, slackPlain(notesLabel), slackPlain("A link, notes or both: the ticket closes only with its deliverable."),
			slack.NewPlainTextInputBlockElement(slackPlain(notesHint), actionNotes).WithMultiline(true).WithMaxLength(3000)).WithOptional(true),
	}
}

// commitmentModal records a promise made to the client during presale, so
// the PM sees it at handover.
func commitmentModal(meta modalMeta, dealName string) slack.ModalViewRequest {
	var opts []*slack.OptionBlockObject
	for _, k := range deal.CommitmentKinds {
		opts = append(opts, slack.NewOptionBlockObject(k, slackPlain(strings.ReplaceAll(k, "_", " ")), nil))
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(slackMrkdwn(fmt.Sprintf("A commitment made to the client of *%s* (a discount, a date, an integration…). The PM acknowledges every one at handover.", dealName)), nil, nil),
		slack.NewInputBlock(blockKind, slackPlain("Kind"), nil, slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, slackPlain("Choose"), actionKind, opts...)),
		slack.NewInputBlock(blockText, slackPlain("What was promised"), nil,
			slack.NewPlainTextInputBlockElement(slackPlain("10% off phase 2 if signed this quarter"), actionText).WithMultiline(true).WithMaxLength(3000)),
		slack.NewInputBlock(blockValue, slackPlain("Value"), slackPlain("A figure or a date, when there is one."),
			slack.NewPlainTextInputBlockElement(slackPlain("10%"), actionValue).WithMaxLength(200)).WithOptional(true),
	}
	return slackModal(viewCommitment, "Record commitment", "Record", meta, blocks)
}

// handoverModal is the PM's checklist; submitting it is the sign-off.
// Slack shows at most 10 checkboxes in a group, so commitments come in
// groups of 10. A commitment's box carries its position in the list, not
// its id, which may be longer than the 150 characters Slack allows a value
// (see withCommitments).
func handoverModal(meta modalMeta, commitments []deal.Commitment, dealName string) slack.ModalViewRequest {
	meta.Commitments = len(commitments)
	blocks := []slack.Block{
		slack.NewSectionBlock(slackMrkdwn(fmt.Sprintf("Sign off the handover of *%s*. Delivery starts when you submit a complete checklist.", dealName)), nil, nil),
		slack.NewInputBlock(blockReviewed, slackPlain("Presale deliverables"), nil, slack.NewCheckboxGroupsBlockElement(actionCheck,
			slack.NewOptionBlockObject("yes", slackPlain("I reviewed the presale deliverables"), nil))).WithOptional(true),
	}
	for i := 0; i < len(commitments); i += 10 {
		var opts []*slack.OptionBlockObject
		for j, c := range commitments[i:min(i+10, len(commitments))] {
			text := fmt.Sprintf("%s (%s): %s", c.ID, strings.ReplaceAll(c.Kind, "_", " "), strings.Join(strings.Fields(c.Text), " "))
			opts = append(opts, slack.NewOptionBlockObject(strconv.Itoa(i+j), slackPlain(slackTruncate(text, 75)), slackPlain(slackTruncate("by "+c.By+" "+c.Value, 75))))
		}
		label := "Commitments acknowledged"
		if len(commitments) > 10 {
			label += fmt.Sprintf(" (%d–%d)", i+1, min(i+10, len(commitments)))
		}
		blocks = append(blocks, slack.NewInputBlock(fmt.Sprintf("%s%d", blockAcksPref, i/10), slackPlain(label), nil,
			slack.NewCheckboxGroupsBlockElement(actionAcks, opts...)).WithOptional(true))
	}
	if len(commitments) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(slackMrkdwn("_No commitments were recorded during presale._"), nil, nil))
	}
	blocks = append(blocks,
		slack.NewInputBlock(blockAmbig, slackPlain("Scope ambiguities"), slackPlain("One per line. Write none if there are none."),
			slack.NewPlainTextInputBlockElement(slackPlain("Data retention period not agreed"), actionAmbig).WithMultiline(true).WithMaxLength(3000)),
		slack.NewInputBlock(blockResources, slackPlain("Resources"), nil, slack.NewCheckboxGroupsBlockElement(actionCheck,
			slack.NewOptionBlockObject("yes", slackPlain("Resources for delivery are confirmed"), nil))).WithOptional(true),
	)
	return slackModal(viewHandover, "Handover sign-off", "Sign off handover", meta, blocks)
}

// closeLostModal asks why the deal was lost.
func closeLostModal(meta modalMeta, dealName string) slack.ModalViewRequest {
	blocks := []slack.Block{
		slack.NewSectionBlock(slackMrkdwn(fmt.Sprintf("Close *%s* as lost. The open ticket is cancelled and the deal ends.", dealName)), nil, nil),
		slack.NewInputBlock(blockReason, slackPlain("Why was it lost?"), nil,
			slack.NewPlainTextInputBlockElement(slackPlain("Budget moved to next year"), actionReason).WithMultiline(true).WithMaxLength(2000)),
	}
	return slackModal(viewCloseLost, "Close lost", "Close lost", meta, blocks)
}

func slackModal(callbackID, title, submit string, meta modalMeta, blocks []slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: callbackID, Title: slackPlain(slackTruncate(title, 24)),
		Submit: slackPlain(slackTruncate(submit, 24)), Close: slackPlain("Cancel"), PrivateMetadata: meta.String(), Blocks: slack.Blocks{BlockSet: blocks}}
}

// submission is a submitted modal read into the signal it sends.
type submission struct {
	Meta    modalMeta
	Signal  string
	Payload []byte
	// Done is the confirmation shown to the clicker when it is accepted.
	Done string
	// Key is the interaction's idempotency key (slackKey).
	Key string
	// handover is a handover sign-off before its acknowledged commitments
	// are known: ticked holds the positions the PM ticked, which
	// withCommitments turns into ids. Payload is empty until then.
	handover *deal.HandoverSignal
	ticked   []string
}

// withCommitments completes a handover sign-off with the ids of the
// commitments ticked, read by position from the deal's commitments at
// submission. That is the list the checklist was built from: commitments
// are recorded only during presale and only appended, and the count the
// modal carries guards it.
func (sub submission) withCommitments(cs []deal.Commitment) (submission, error) {
	if sub.handover == nil {
		return sub, nil
	}
	if len(cs) != sub.Meta.Commitments {
		return sub, fmt.Errorf("the checklist listed %d commitments and the deal has %d", sub.Meta.Commitments, len(cs))
	}
	ids := []string{}
	for _, v := range sub.ticked {
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 || i >= len(cs) {
			return sub, fmt.Errorf("the checklist's commitment %q is not one of the deal's", v)
		}
		ids = append(ids, cs[i].ID)
	}
	h := *sub.handover
	h.Checklist.CommitmentsAcknowledged = sortedUnique(ids)
	sub.Payload, sub.handover, sub.ticked = slackJSON(h), nil, nil
	return sub, nil
}

// readSubmission turns a submitted view into a signal by user. Input
// errors (keyed by block id, as Slack shows them in the modal) mean nothing
// is sent; err means the view is not one of dealflow's.
func readSubmission(user string, v slack.View) (submission, map[string]string, error) {
	var meta modalMeta
	if err := json.Unmarshal([]byte(v.PrivateMetadata), &meta); err != nil || meta.Deal == "" {
		return submission{}, nil, fmt.Errorf("view %s (%s) carries no deal", v.ID, v.CallbackID)
	}
	sub := submission{Meta: meta}
	in := viewInputs{v.State}
	switch v.CallbackID {
	case viewSignoff:
		s := deal.SignoffSignal{ID: "slack:" + v.ID, Ticket: meta.Ticket, By: user, Side: meta.Side, Decision: meta.Decision}
		if meta.Decision == "approve" {
			url, notes := in.text(blockURL, actionURL), in.text(blockNotes, actionNotes)
			if url == "" && notes == "" {
				return sub, map[string]string{blockURL: "Give a link to the deliverable, notes, or both."}, nil
			}
			s.Deliverable = &deal.Deliverable{URL: url, Body: notes}
			sub.Done = fmt.Sprintf("you approved the %s ticket", meta.Ticket)
			if meta.Side == "client" {
				sub.Done = fmt.Sprintf("you recorded the client's approval of the %s ticket", meta.Ticket)
			}
		} else {
			s.Note = in.text(blockNote, actionNote)
			if s.Note == "" {
				return sub, map[string]string{blockNote: "Say what should change."}, nil
			}
			sub.Done = fmt.Sprintf("your change request on the %s ticket is recorded; it goes back for rework", meta.Ticket)
		}
		sub.Signal, sub.Payload = deal.SigSignoff, slackJSON(s)
	case viewCommitment:
		c := deal.CommitmentSignal{ID: "slack-" + v.ID, Kind: in.selected(blockKind, actionKind), Text: in.text(blockText, actionText),
			Value: in.text(blockValue, actionValue), By: user}
		if c.Text == "" {
			return sub, map[string]string{blockText: "Say what was promised."}, nil
		}
		sub.Signal, sub.Payload = deal.SigCommitment, slackJSON(c)
		sub.Done = fmt.Sprintf("commitment %s is recorded; the PM acknowledges it at handover", c.ID)
	case viewHandover:
		amb, ok := ambiguities(in.text(blockAmbig, actionAmbig))
		if !ok {
			return sub, map[string]string{blockAmbig: "State the scope ambiguities, one per line, or write none."}, nil
		}
		if len(amb) > deal.MaxAmbiguities {
			return sub, map[string]string{blockAmbig: fmt.Sprintf("At most %d scope ambiguities; group the smaller ones.", deal.MaxAmbiguities)}, nil
		}
		for _, a := range amb {
			if err := deal.CheckValue("handover.checklist.scope_ambiguities", a); err != nil {
				return sub, map[string]string{blockAmbig: err.Error()}, nil
			}
		}
		for block := range v.State.Values {
			if strings.HasPrefix(block, blockAcksPref) {
				sub.ticked = append(sub.ticked, in.checked(block, actionAcks)...)
			}
		}
		sub.Signal, sub.handover = deal.SigHandover, &deal.HandoverSignal{By: user, SignedOff: true, Checklist: deal.Checklist{
			DeliverablesReviewed: len(in.checked(blockReviewed, actionCheck)) > 0,
			ScopeAmbiguities:     &amb,
			ResourcesConfirmed:   len(in.checked(blockResources, actionCheck)) > 0,
		}}
		sub.Done = "you signed the handover off; delivery has started"
	case viewCloseLost:
		reason := in.text(blockReason, actionReason)
		if reason == "" {
			return sub, map[string]string{blockReason: "Say why the deal was lost."}, nil
		}
		sub.Signal, sub.Payload = deal.SigClose, slackJSON(deal.CloseSignal{Outcome: "lost", By: user, Reason: reason})
		sub.Done = "the deal is closed lost"
	case viewQuestion, viewAnswer:
		var inputErrs map[string]string
		if sub, inputErrs = readQuestion(user, v, in, sub); inputErrs != nil {
			return sub, inputErrs, nil
		}
	default:
		return submission{}, nil, fmt.Errorf("view %s has an unknown callback id %q", v.ID, v.CallbackID)
	}
	if sub.Payload != nil {
		// The field rules the workflow applies, shown in the modal by the
		// box that holds the field rather than as a refusal afterwards.
		if err := deal.CheckInput(sub.Signal, sub.Payload); err != nil {
			return sub, map[string]string{blockOf(err.Error(), firstBlock(v.CallbackID, meta)): err.Error()}, nil
		}
	}
	return sub, nil, nil
}

// fieldBlocks are the modal boxes that hold a signal field, by the field's
// name as a refusal starts with it.
var fieldBlocks = []struct{ field, block string }{
	{"deliverable.url", blockURL}, {"deliverable.body", blockNotes}, {"note", blockNote},
	{"text", blockText}, {"value", blockValue}, {"kind", blockKind}, {"reason", blockReason},
}

// blockOf is the box to show a refusal by: the one holding the field it
// names, or else the view's first box.
func blockOf(refusal, first string) string {
	for _, f := range fieldBlocks {
		if strings.HasPrefix(refusal, f.field+" ") {
			return f.block
		}
	}
	return first
}

func firstBlock(callbackID string, meta modalMeta) string {
	switch {
	case callbackID == viewSignoff && meta.Decision == "approve":
		return blockURL
	case callbackID == viewSignoff:
		return blockNote
	case callbackID == viewCommitment, callbackID == viewQuestion, callbackID == viewAnswer:
		return blockText
	}
	return blockReason
}

// ambiguities reads the scope ambiguities: one per line, and "none" for an
// empty list. Nothing written is not an answer.
func ambiguities(text string) ([]string, bool) {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(strings.TrimLeft(l, "-•* ")); l != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, false
	}
	if len(out) == 1 {
		switch strings.ToLower(strings.TrimRight(out[0], ".")) {
		case "none", "no", "n/a", "nothing":
			return []string{}, true
		}
	}
	return out, true
}

// viewInputs reads a submitted view's state.
type viewInputs struct{ s *slack.ViewState }

func (v viewInputs) action(block, action string) (slack.BlockAction, bool) {
	if v.s == nil {
		return slack.BlockAction{}, false
	}
	a, ok := v.s.Values[block][action]
	return a, ok
}

func (v viewInputs) text(block, action string) string {
	a, _ := v.action(block, action)
	return strings.TrimSpace(a.Value)
}

func (v viewInputs) selected(block, action string) string {
	a, _ := v.action(block, action)
	return a.SelectedOption.Value
}

func (v viewInputs) checked(block, action string) []string {
	a, _ := v.action(block, action)
	var out []string
	for _, o := range a.SelectedOptions {
		out = append(out, o.Value)
	}
	return out
}

func sortedUnique(s []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// Block Kit helpers.

func slackPlain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func slackMrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func slackTruncate(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}

func slackJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only for this module's signal types, which always marshal
	}
	return b
}
