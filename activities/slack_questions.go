package activities

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"dealflow/deal"
)

// Ask the AE in Slack: the question goes to the AE directly with an Answer
// button, the answer back to whoever asked, and a question left unanswered
// for two business days to the GM. Each is a direct message, kept once by
// its notice key like every other post.

const (
	// ActionAskAE opens the question modal (handover message, for the PM
	// and the GM); ActionAnswer the answer modal (the AE's message).
	ActionAskAE  = "ask_ae"
	ActionAnswer = "answer_question"
	MsgQuestion  = "question"
	// MsgAnswer is an answer or an escalation: nothing updates it.
	MsgAnswer = "question_news"
)

// questionNotice posts a question notice to the one person it is for.
func (s *SlackNotifier) questionNotice(ctx context.Context, n Notification) error {
	q := n.Notice.Question
	switch n.Notice.Kind {
	case deal.NoticeQuestionAsked:
		// The question's id keys its message (in the column that names
		// what a message is about), so the answer can settle it.
		return s.post(ctx, n, n.Key, n.People.AE, MsgQuestion, q.ID, s.Render.QuestionMessage(n))
	case deal.NoticeQuestionAnswered:
		// The AE's copy loses its Answer button first.
		if err := s.settle(ctx, n, MsgQuestion, q.ID, fmt.Sprintf(":white_check_mark: Answered %s.", when(q.Answer.At))); err != nil {
			return err
		}
		return s.post(ctx, n, n.Key, q.By, MsgAnswer, "", s.Render.AnswerMessage(n))
	}
	return s.post(ctx, n, n.Key, n.People.GM, MsgAnswer, "", s.Render.EscalationMessage(n))
}

// askAE is the handover message's "Ask the AE" button.
func askAE(n Notification) *slack.ButtonBlockElement {
	return button(ActionAskAE, ButtonValue{Deal: n.DealID, Ticket: MsgHandover}.String(), "Ask the AE", "")
}

// QuestionMessage is the AE's copy of a question, with the Answer button.
func (r Renderer) QuestionMessage(n Notification) SlackMessage {
	q := n.Notice.Question
	line := fmt.Sprintf(":question: <@%s> asks you about *%s*:\n>%s", q.By, dealName(n), quote(q.Text, 2000))
	blocks := []slack.Block{
		section(line),
		slack.NewActionBlock("question", button(ActionAnswer, ButtonValue{Deal: n.DealID, Question: q.ID}.String(), "Answer", slack.StylePrimary)),
		hint(fmt.Sprintf("Your answer goes to <@%s> and stays on the deal's record. Unanswered, the question goes to <@%s> %s.",
			q.By, n.People.GM, when(q.DueAt))),
	}
	return SlackMessage{Text: slackSummary(n), Blocks: blocks, Short: r.brief(n, "", line, blocks)}
}

// AnswerMessage is the AE's answer, for whoever asked.
func (r Renderer) AnswerMessage(n Notification) SlackMessage {
	q := n.Notice.Question
	line := fmt.Sprintf(":speech_balloon: <@%s> answered your question about *%s*.", q.Answer.By, dealName(n))
	blocks := []slack.Block{section(line), section("*You asked*\n>" + quote(q.Text, 1200)), section("*The answer*\n>" + quote(q.Answer.Text, 2500)),
		note("Both are on " + r.dealPage(n) + ".")}
	return SlackMessage{Text: slackSummary(n), Blocks: blocks, Short: r.brief(n, "", line, nil)}
}

// EscalationMessage tells the GM a question waited two business days.
func (r Renderer) EscalationMessage(n Notification) SlackMessage {
	q := n.Notice.Question
	line := fmt.Sprintf(":hourglass: <@%s> has not answered <@%s>'s question about *%s*, asked %s; it was due %s.",
		n.People.AE, q.By, dealName(n), when(q.AskedAt), when(q.DueAt))
	blocks := []slack.Block{section(line), section(">" + quote(q.Text, 2000)), note("See " + r.dealPage(n) + ".")}
	return SlackMessage{Text: slackSummary(n), Blocks: blocks, Short: r.brief(n, "", line, nil)}
}
