package server

import (
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"

	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// FuzzReadSubmission submits dealflow's modals with any text in their
// boxes: the answer is an error for a view that is not dealflow's, errors
// shown in the modal, or a signal whose payload the field rules take, so
// Slack never sends what the workflow would refuse for its shape.
// Fuzz longer: go test -run '^$' -fuzz '^FuzzReadSubmission$' -fuzztime 10m ./server
func FuzzReadSubmission(f *testing.F) {
	f.Add(uint8(0), true, false, "https://docs.example.com/d", "notes", "", "", "", "", "", "", "0")
	f.Add(uint8(0), false, true, "", "", "say more\x00", "", "", "", "", "", "")
	f.Add(uint8(0), true, true, "javascript:alert(1)", "M\xfcller", "", "", "", "", "", "", "")
	f.Add(uint8(1), false, false, "", "", "", "10% off", "10 %", "discount", "", "", "")
	f.Add(uint8(1), false, false, "", "", "", "x\x1b[31m", "", "bribe", "", "", "")
	f.Add(uint8(2), false, false, "", "", "", "", "", "", "", "- one\n- two\x07", "0,1,7,x")
	f.Add(uint8(2), false, false, "", "", "", "", "", "", "", "none", "")
	f.Add(uint8(3), false, false, "", "", "", "", "", "", "budget cut", "", "")
	f.Add(uint8(4), false, false, "", "", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, which uint8, approve, client bool, url, notes, note, text, value, kind, reason, ambig, ticked string) {
		callbacks := []string{viewSignoff, viewCommitment, viewHandover, viewCloseLost, "someone_elses"}
		meta := modalMeta{Deal: "d1", Ticket: "discovery", Side: "internal", Decision: "changes_requested", Commitments: 2}
		if approve {
			meta.Decision = "approve"
		}
		if client {
			meta.Side = "client"
		}
		mb, _ := json.Marshal(meta)
		vals := map[string]map[string]slack.BlockAction{
			blockURL:            {actionURL: {Value: url}},
			blockNotes:          {actionNotes: {Value: notes}},
			blockNote:           {actionNote: {Value: note}},
			blockText:           {actionText: {Value: text}},
			blockValue:          {actionValue: {Value: value}},
			blockKind:           {actionKind: {SelectedOption: slack.OptionBlockObject{Value: kind}}},
			blockReason:         {actionReason: {Value: reason}},
			blockAmbig:          {actionAmbig: {Value: ambig}},
			blockAcksPref + "0": {actionAcks: {SelectedOptions: []slack.OptionBlockObject{{Value: ticked}}}},
		}
		v := slack.View{ID: "V1", CallbackID: callbacks[int(which)%len(callbacks)], PrivateMetadata: string(mb),
			State: &slack.ViewState{Values: vals}}
		sub, errs, err := readSubmission(dealtest.Presales, v)
		if err != nil {
			return
		}
		if len(errs) > 0 {
			for block, msg := range errs {
				if msg == "" {
					t.Fatalf("an empty error on %s", block)
				}
			}
			return
		}
		sub, err = sub.withCommitments([]deal.Commitment{{ID: "c1"}, {ID: "c2"}})
		if err != nil {
			return
		}
		if err := deal.CheckInput(sub.Signal, sub.Payload); err != nil {
			t.Fatalf("Slack would send a %s the rules refuse: %v\n%s", sub.Signal, err, sub.Payload)
		}
	})
}
