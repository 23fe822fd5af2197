package main

import (
	"context"
	"flag"
	"io"

	"dealflow/deal"
)

// Ask the AE from the command line: the same signals Slack sends.

func runQuestion(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigQuestion,
		"--deal ID --id ID --text TEXT --by U", bindQuestion, checkQuestion))
}

func bindQuestion(fs *flag.FlagSet, p *deal.QuestionSignal) {
	fs.StringVar(&p.ID, "id", "", "the question's id; sending it again is a repeat")
	fs.StringVar(&p.Text, "text", "", "the question for the AE")
	fs.StringVar(&p.By, "by", "", "Slack user id of the PM or the GM asking")
}

func checkQuestion(c *checker, p *deal.QuestionSignal) {
	c.need("id", p.ID)
	c.need("text", p.Text)
	c.need("by", p.By)
}

func runAnswer(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	return runSignal(ctx, t, args, stdout, newSignalForm(deal.SigAnswer,
		"--deal ID --question ID --text TEXT --by U", bindAnswer, checkAnswer))
}

func bindAnswer(fs *flag.FlagSet, p *deal.AnswerSignal) {
	fs.StringVar(&p.QuestionID, "question", "", "the id of the question answered")
	fs.StringVar(&p.Text, "text", "", "the answer")
	fs.StringVar(&p.By, "by", "", "Slack user id of the AE")
}

func checkAnswer(c *checker, p *deal.AnswerSignal) {
	c.need("question", p.QuestionID)
	c.need("text", p.Text)
	c.need("by", p.By)
}
