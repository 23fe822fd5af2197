package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/serviceerror"

	"dealflow/activities"
	"dealflow/activities/slackfake"
	"dealflow/deal"
	"dealflow/deal/dealtest"
	"dealflow/workflows"
)

// dealRun is one deal of the load: its people and channel are its own, so
// every Slack message and every answer is attributable to it.
type dealRun struct {
	ID      string
	Channel string
	People  deal.People
	// Delivered is set once the deal reached delivery by clicks.
	Delivered atomic.Bool
	// anchored is set once its anchor invoice is taken: the invoice the
	// probes send again (a duplicate answers without changing the deal).
	anchored  atomic.Bool
	anchorInv *invoice
	// WalkTook is how long the walk from opening to delivery took.
	WalkTook time.Duration
}

func newDealRun(prefix string, i int) *dealRun {
	n := fmt.Sprintf("%s%02d", strings.ToUpper(prefix), i)
	return &dealRun{
		ID:      fmt.Sprintf("%s-%02d", prefix, i),
		Channel: "C_" + n,
		People:  deal.People{AE: "U_AE_" + n, Presales: "U_PS_" + n, PricingApprover: "U_PR_" + n, PM: "U_PM_" + n, GM: "U_GM_" + n},
	}
}

// channels are where the deal's messages land: its channel and the
// direct messages of its people.
func (d *dealRun) channels() []string {
	p := d.People
	return []string{d.Channel, "D" + p.AE, "D" + p.Presales, "D" + p.PricingApprover, "D" + p.PM, "D" + p.GM}
}

// A deal's money: the probe invoice takes the forecast from 40% to 20%
// (off track against the 30% target), its credit note back.
const (
	contractValue = "1000000.00"
	plannedCost   = "600000.00"
	probeAmount   = "200000.00"
)

var triggers atomic.Int64

// walk opens the deal and takes it into delivery by Slack clicks only:
// each turn reads the deal's stage and does what its owner would do in
// Slack next. A click whose answer was lost to a fault is not repeated
// blindly: the next turn reads the stage again.
func (s *soak) walk(ctx context.Context, d *dealRun) error {
	start := time.Now()
	terms := dealtest.Terms(d.ID, start)
	terms.People, terms.SlackChannel = d.People, d.Channel
	// Room for the load's invoices (a few thousand EUR a deal) without
	// moving the margin, so each alert comes from a probe: planned cost
	// 60% of the contract against a 30% target leaves 10 points.
	terms.ContractValue = decimal.RequireFromString(contractValue)
	planned := decimal.RequireFromString(plannedCost)
	terms.PlannedCost = &planned
	for {
		_, err := workflows.OpenDeal(ctx, s.c, workflows.TaskQueue, workflows.Input{Terms: terms})
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if err == nil || errors.As(err, &started) {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("opening deal %s: %w", d.ID, err)
		}
		time.Sleep(time.Second)
	}
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := workflows.Record(rctx, s.c, d.ID)
		cancel()
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		p := d.People
		switch st.Deal.Stage {
		case deal.InProgress:
			d.WalkTook = time.Since(start)
			d.Delivered.Store(true)
			return nil
		case deal.Discovery:
			err = s.signoff(ctx, d, "discovery", p.Presales)
		case deal.Scoping:
			err = s.signoff(ctx, d, "scoping", p.Presales)
		case deal.Proposal:
			err = s.signoff(ctx, d, "proposal", p.AE)
		case deal.Pricing:
			err = s.signoff(ctx, d, "pricing", p.PricingApprover)
		case deal.Closing:
			err = s.closeWon(ctx, d)
		case deal.Handover:
			err = s.handover(ctx, d)
		default:
			return fmt.Errorf("deal %s is in %s, which the walk never takes it to", d.ID, st.Deal.Stage)
		}
		if err != nil {
			s.count("walk retries")
			s.logf("deal %s: %v; reading its stage again", d.ID, err)
		}
	}
	return fmt.Errorf("deal %s did not reach delivery: %w", d.ID, ctx.Err())
}

// signoff approves the ticket in its message: the client's approval once
// the internal one is in, the internal one before.
func (s *soak) signoff(ctx context.Context, d *dealRun, ticket, user string) error {
	msg, b, err := s.findButton(ctx, d.Channel, func(b slackfake.Button) bool {
		return (b.ActionID == activities.ActionClientApprove || b.ActionID == activities.ActionApprove) &&
			strings.Contains(b.Value, `"ticket":"`+ticket+`"`)
	}, activities.ActionClientApprove)
	if err != nil {
		return err
	}
	view, err := s.clickForView(ctx, user, msg, b)
	if err != nil {
		return err
	}
	url := "https://docs.example.com/" + d.ID + "/" + ticket
	if err := s.submit(ctx, user, view,
		slackfake.Input{BlockID: "deliverable_url", ActionID: "url", Type: "url_text_input", Value: url},
		slackfake.Input{BlockID: "deliverable_notes", ActionID: "notes", Value: "Notes for " + url}); err != nil {
		return err
	}
	s.settled(ctx, msg, b)
	return nil
}

// settled waits (15 s at most) until the message no longer shows the
// button clicked: the next turn then finds the message's new buttons, not
// the old ones again.
func (s *soak) settled(ctx context.Context, msg slackfake.Message, b slackfake.Button) {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		still := false
		for _, m := range s.fake.Messages() {
			if m.Channel == msg.Channel && m.TS == msg.TS {
				for _, x := range slackfake.Buttons(m.Blocks) {
					still = still || (x.ActionID == b.ActionID && x.Value == b.Value)
				}
			}
		}
		if !still {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *soak) closeWon(ctx context.Context, d *dealRun) error {
	msg, b, err := s.findButton(ctx, d.Channel, func(b slackfake.Button) bool { return b.ActionID == activities.ActionCloseWon }, "")
	if err != nil {
		return err
	}
	told := s.told(d.People.AE)
	if err := s.click(ctx, d.People.AE, msg, b); err != nil {
		return err
	}
	return s.answer(ctx, d.People.AE, told)
}

func (s *soak) handover(ctx context.Context, d *dealRun) error {
	pm := d.People.PM
	msg, b, err := s.findButton(ctx, "D"+pm, func(b slackfake.Button) bool { return b.ActionID == activities.ActionHandoverSignoff }, "")
	if err != nil {
		return err
	}
	view, err := s.clickForView(ctx, pm, msg, b)
	if err != nil {
		return err
	}
	in := []slackfake.Input{
		{BlockID: "deliverables_reviewed", ActionID: "check", Type: "checkboxes", Selected: []string{"yes"}},
		{BlockID: "resources_confirmed", ActionID: "check", Type: "checkboxes", Selected: []string{"yes"}},
		{BlockID: "scope_ambiguities", ActionID: "ambiguities", Value: "None found in the soak"},
	}
	for block, opts := range viewOptions(view.View) {
		if strings.HasPrefix(block, "commitments_") {
			in = append(in, slackfake.Input{BlockID: block, ActionID: "acks", Type: "checkboxes", Selected: opts})
		}
	}
	return s.submit(ctx, pm, view, in...)
}

// findButton waits (30 s at most) for a message in channel with a button
// that matches, preferring action prefer, and returns the newest.
func (s *soak) findButton(ctx context.Context, channel string, match func(slackfake.Button) bool, prefer string) (slackfake.Message, slackfake.Button, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var found slackfake.Message
		var fb slackfake.Button
		ok := false
		for _, m := range s.fake.Messages() {
			if m.Channel != channel {
				continue
			}
			for _, b := range slackfake.Buttons(m.Blocks) {
				if match(b) && (!ok || b.ActionID == prefer || fb.ActionID != prefer) {
					found, fb, ok = m, b, true
				}
			}
		}
		if ok {
			return found, fb, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return slackfake.Message{}, slackfake.Button{}, fmt.Errorf("no message in %s with the button it needs within 30 s", channel)
}

func (s *soak) click(ctx context.Context, user string, msg slackfake.Message, b slackfake.Button) error {
	n := triggers.Add(1)
	s.count("clicks")
	return s.timed(ctx, func(ctx context.Context) error {
		return s.http.interact(ctx, slackfake.BlockActions(user, msg.Channel, msg.TS, fmt.Sprintf("trigger-%d", n), b, fmt.Sprintf("1700000100.%06d", n)))
	})
}

// clickForView clicks a button that opens a modal and returns the modal.
func (s *soak) clickForView(ctx context.Context, user string, msg slackfake.Message, b slackfake.Button) (slackfake.Call, error) {
	n := triggers.Add(1)
	trigger := fmt.Sprintf("trigger-%d", n)
	s.count("clicks")
	err := s.timed(ctx, func(ctx context.Context) error {
		return s.http.interact(ctx, slackfake.BlockActions(user, msg.Channel, msg.TS, trigger, b, fmt.Sprintf("1700000100.%06d", n)))
	})
	if err != nil {
		return slackfake.Call{}, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range s.fake.Calls("views.open") {
			if c.TriggerID == trigger {
				return c, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return slackfake.Call{}, fmt.Errorf("the click on %s opened no modal within 30 s", b.ActionID)
}

// submit submits a modal and waits for the answer the clicker is told.
func (s *soak) submit(ctx context.Context, user string, view slackfake.Call, in ...slackfake.Input) error {
	told := s.told(user)
	s.count("modal submissions")
	if err := s.timed(ctx, func(ctx context.Context) error {
		return s.http.interact(ctx, slackfake.ViewSubmission(user, view, in...))
	}); err != nil {
		return err
	}
	return s.answer(ctx, user, told)
}

// told is how many ephemeral answers user has had.
func (s *soak) told(user string) int {
	n := 0
	for _, c := range s.fake.Calls("chat.postEphemeral") {
		if c.User == user {
			n++
		}
	}
	return n
}

// answer waits (60 s at most) for user's next ephemeral answer.
func (s *soak) answer(ctx context.Context, user string, before int) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var mine []slackfake.Call
		for _, c := range s.fake.Calls("chat.postEphemeral") {
			if c.User == user {
				mine = append(mine, c)
			}
		}
		if len(mine) > before {
			// "Already recorded" answers a click whose first answer was
			// lost: the decision is in, as wanted.
			if t := mine[before].Text; !strings.Contains(t, "Done") && !strings.Contains(t, "Already recorded") {
				s.count("answers not Done")
				return fmt.Errorf("%s was told %q", user, t)
			}
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s was told nothing within 60 s", user)
}

// timed runs an interaction with a 2-minute bound.
func (s *soak) timed(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return f(ctx)
}

// viewOptions are the option values of each input block of a modal.
func viewOptions(view json.RawMessage) map[string][]string {
	var v struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				Options []struct {
					Value string `json:"value"`
				} `json:"options"`
			} `json:"element"`
		} `json:"blocks"`
	}
	_ = json.Unmarshal(view, &v)
	out := map[string][]string{}
	for _, b := range v.Blocks {
		for _, o := range b.Element.Options {
			out[b.BlockID] = append(out[b.BlockID], o.Value)
		}
	}
	return out
}
