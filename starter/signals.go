package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"dealflow/deal"
	"dealflow/workflows"
)

// errRefused marks a signal the deal refused; its reason is already printed.
var errRefused = errors.New("refused")

// signalForm is the command line of one signal: --deal, and the payload
// either as flags bound straight into the payload struct or as --file.
type signalForm[T any] struct {
	signal string
	fs     *flag.FlagSet
	deal   string
	file   string
	p      T
	check  func(c *checker, p *T)
}

func newSignalForm[T any](signal, synopsis string, bind func(fs *flag.FlagSet, p *T), check func(c *checker, p *T)) *signalForm[T] {
	f := &signalForm[T]{signal: signal, check: check}
	f.fs = newFlagSet(signal, synopsis)
	f.fs.StringVar(&f.deal, "deal", "", "the deal's id (its workflow is deal-ID)")
	f.fs.StringVar(&f.file, "file", "", "a JSON file holding the whole payload, instead of the payload flags (- reads stdin)")
	bind(f.fs, &f.p)
	return f
}

// payload checks what can be checked here and returns the JSON to send.
// A file is sent as written once it decodes; flags are marshalled.
func (f *signalForm[T]) payload() ([]byte, error) {
	c := &checker{}
	var body []byte
	if f.file != "" {
		var extra []string
		for name := range given(f.fs) {
			if name != "deal" && name != "file" {
				extra = append(extra, "--"+name)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			return nil, usageError{"--file holds the whole payload; drop " + strings.Join(extra, ", ")}
		}
		b, err := readInput(f.file)
		if err != nil {
			return nil, err
		}
		if err := decodeStrict(b, &f.p); err != nil {
			return nil, usageError{fmt.Sprintf("%s is not a %s payload: %v", f.file, f.signal, err)}
		}
		body = b
	} else {
		c.flags = given(f.fs)
		b, err := json.Marshal(f.p)
		if err != nil {
			return nil, err
		}
		body = b
	}
	if strings.TrimSpace(f.deal) == "" {
		c.add("missing --deal")
	}
	f.check(c, &f.p)
	// Then the field rules the workflow applies, so a bad value the flags'
	// own checks let through is named here, before anything is sent.
	if len(c.bad) == 0 {
		if err := deal.CheckInput(f.signal, body); err != nil {
			c.add("%s", err)
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return body, nil
}

// runSignal is the whole of a signal command: parse, check, send, answer.
func runSignal[T any](ctx context.Context, t *target, args []string, stdout io.Writer, f *signalForm[T]) error {
	if help, err := parse(f.fs, args, stdout); help || err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (see `starter %s -h`)", f.fs.Arg(0), f.signal)}
	}
	body, err := f.payload()
	if err != nil {
		return err
	}
	return send(ctx, t, f.deal, f.signal, body, stdout)
}

// send applies one signal through the workflow's update and prints the
// deal's answer; a refusal is exit 1.
func send(ctx context.Context, t *target, dealID, signal string, payload []byte, stdout io.Writer) error {
	c, err := t.client(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	res, err := workflows.Send(sctx, c, dealID, signal, payload)
	if err != nil {
		return noAnswer(sctx, dealID, err, true)
	}
	return printOutcome(stdout, res)
}

func printOutcome(w io.Writer, res deal.Result) error {
	fmt.Fprintln(w, outcomeText(res.Status, res.Reason))
	if res.Status == deal.Refused {
		return errRefused
	}
	return nil
}

func outcomeText(status, reason string) string {
	switch status {
	case deal.Accepted:
		return "accepted"
	case deal.Duplicate:
		return "duplicate (already recorded)"
	case deal.Refused:
		return "refused: " + reason
	}
	return status + " " + reason
}
