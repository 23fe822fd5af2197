package server

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"dealflow/activities"
	"dealflow/deal"
)

// Ask the AE from Slack: the handover message's "Ask the AE" button opens
// a question modal for the PM and the GM; the AE's "Answer" button opens
// the answer modal. Anyone else learns at once that their click counts for
// nothing; the workflow checks every submission again and alone decides.

const (
	viewQuestion = "question"
	viewAnswer   = "answer"
)

// openAsk opens the question modal for the deal's PM or GM.
func (a *slackApp) openAsk(ctx context.Context, ic slack.InteractionCallback, meta modalMeta) {
	user := ic.User.ID
	rec, ok := a.record(ctx, user, meta)
	if !ok {
		return
	}
	p := rec.Terms.People
	switch {
	case user != p.PM && user != p.GM:
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Only <@%s> (PM) or <@%s> (GM) asks the AE about this deal; your click changed nothing.", p.PM, p.GM))
	case rec.Stage.IsFinal():
		a.tell(ctx, user, meta, fmt.Sprintf(":information_source: Deal `%s` is %s; it takes no more questions.", meta.Deal, rec.Stage))
	default:
		a.openView(ctx, ic.TriggerID, user, meta, questionModal(meta, p.AE, dealName(rec)))
	}
}

// openAnswer opens the answer modal for the AE, showing the question.
func (a *slackApp) openAnswer(ctx context.Context, ic slack.InteractionCallback, meta modalMeta) {
	user := ic.User.ID
	rec, ok := a.record(ctx, user, meta)
	if !ok {
		return
	}
	var q *deal.Question
	for i := range rec.Questions {
		if rec.Questions[i].ID == meta.Question {
			q = &rec.Questions[i]
		}
	}
	switch {
	case q == nil:
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Deal `%s` has no such question; your click changed nothing.", meta.Deal))
	case user != rec.Terms.People.AE:
		a.tell(ctx, user, meta, fmt.Sprintf(":no_entry: Only <@%s>, the AE, answers; your click changed nothing.", rec.Terms.People.AE))
	case q.Answered():
		a.tell(ctx, user, meta, ":information_source: You already answered this question; your click changed nothing.")
	default:
		a.openView(ctx, ic.TriggerID, user, meta, answerModal(meta, *q, dealName(rec)))
	}
}

func questionModal(meta modalMeta, ae, dealName string) slack.ModalViewRequest {
	blocks := []slack.Block{
		slack.NewSectionBlock(slackMrkdwn(fmt.Sprintf("Ask <@%s> about what was sold on *%s*. The question and the answer stay on the deal's record; "+
			"unanswered after %d business days, the question goes to the GM.", ae, dealName, deal.EscalateAfterBusinessDays)), nil, nil),
		slack.NewInputBlock(blockText, slackPlain("Your question"), nil,
			slack.NewPlainTextInputBlockElement(slackPlain("Which integrations did you promise?"), actionText).WithMultiline(true).WithMaxLength(deal.MaxQuestionLen)),
	}
	return slackModal(viewQuestion, "Ask the AE", "Ask", meta, blocks)
}

func answerModal(meta modalMeta, q deal.Question, dealName string) slack.ModalViewRequest {
	blocks := []slack.Block{
		slack.NewSectionBlock(slackMrkdwn(fmt.Sprintf("<@%s> asks about *%s*:\n>%s", q.By, dealName, activities.SlackText(q.Text, 2500))), nil, nil),
		slack.NewInputBlock(blockText, slackPlain("Your answer"), slackPlain("It goes to whoever asked and stays on the deal's record."),
			slack.NewPlainTextInputBlockElement(slackPlain("What was promised, and where it is written"), actionText).WithMultiline(true).WithMaxLength(3000)),
	}
	return slackModal(viewAnswer, "Answer", "Answer", meta, blocks)
}

// readQuestion reads a submitted question or answer modal. The view id
// makes the question's id, so a double submission is asked once.
func readQuestion(user string, v slack.View, in viewInputs, sub submission) (submission, map[string]string) {
	text := in.text(blockText, actionText)
	if text == "" {
		return sub, map[string]string{blockText: "Write the text."}
	}
	if v.CallbackID == viewQuestion {
		q := deal.QuestionSignal{ID: "slack-" + v.ID, By: user, Text: text}
		sub.Signal, sub.Payload = deal.SigQuestion, slackJSON(q)
		sub.Done = "your question is with the AE; the answer comes to you here"
		return sub, nil
	}
	sub.Signal, sub.Payload = deal.SigAnswer, slackJSON(deal.AnswerSignal{QuestionID: sub.Meta.Question, By: user, Text: text})
	sub.Done = "your answer is recorded and sent to whoever asked"
	return sub, nil
}
