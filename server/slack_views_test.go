package server

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"dealflow/activities/slackfake"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// opened is a modal as the fake Web API would have opened it: the JSON
// views.open carried, and the id Slack gives it.
func opened(t *testing.T, v slack.ModalViewRequest) slackfake.Call {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := slackfake.SlackLimits.View(b); err != nil {
		t.Fatalf("Slack would not open modal %s: %v", v.CallbackID, err)
	}
	for _, text := range slackfake.MrkdwnTexts(b) {
		if bad := slackfake.BrokenMarkup(text); bad != "" {
			t.Fatalf("modal %s: broken markup, %s", v.CallbackID, bad)
		}
	}
	return slackfake.Call{Method: "views.open", View: b, ViewID: "V0TEST"}
}

// submitted reads a view_submission payload back the way the handler does.
func submitted(t *testing.T, user string, call slackfake.Call, inputs ...slackfake.Input) (submission, map[string]string, error) {
	t.Helper()
	var ic slack.InteractionCallback
	if err := json.Unmarshal(slackfake.ViewSubmission(user, call, inputs...), &ic); err != nil {
		t.Fatal(err)
	}
	return readSubmission(ic.User.ID, ic.View)
}

var discovery = deal.Ticket{ID: "discovery", Owner: dealtest.Presales, DeliverableKind: "discovery_notes", Status: "open"}

func TestSignoffModalAndSubmission(t *testing.T) {
	meta := modalMeta{Deal: "d-1", Ticket: "discovery", Side: "internal", Decision: "approve", Channel: "C_DEALS", TS: "1.2"}
	call := opened(t, signoffModal(meta, discovery, "Globex / Data"))
	if !strings.Contains(string(call.View), `"type":"url_text_input"`) || !strings.Contains(string(call.View), "discovery notes") {
		t.Fatalf("approve modal does not ask for the discovery notes' link: %s", call.View)
	}

	sub, errs, err := submitted(t, dealtest.Presales, call,
		slackfake.Input{BlockID: blockURL, ActionID: actionURL, Type: "url_text_input", Value: " https://docs.example.com/d "},
		slackfake.Input{BlockID: blockNotes, ActionID: actionNotes, Value: "Pain: picking lists"})
	if err != nil || errs != nil {
		t.Fatal(err, errs)
	}
	if sub.Signal != deal.SigSignoff || sub.Meta != meta {
		t.Fatalf("signal %s meta %+v", sub.Signal, sub.Meta)
	}
	var got deal.SignoffSignal
	_ = json.Unmarshal(sub.Payload, &got)
	want := deal.SignoffSignal{ID: "slack:V0TEST", Ticket: "discovery", By: dealtest.Presales, Side: "internal", Decision: "approve",
		Deliverable: &deal.Deliverable{URL: "https://docs.example.com/d", Body: "Pain: picking lists"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("signal %+v\nwant   %+v", got, want)
	}

	// No deliverable: the modal stays open with the error, nothing is sent.
	_, errs, err = submitted(t, dealtest.Presales, call,
		slackfake.Input{BlockID: blockURL, ActionID: actionURL, Type: "url_text_input"},
		slackfake.Input{BlockID: blockNotes, ActionID: actionNotes, Value: "   "})
	if err != nil || errs[blockURL] == "" {
		t.Fatalf("an approval without deliverable: errors %v, %v", errs, err)
	}

	// A field the rules refuse is named in its box, and nothing is sent.
	_, errs, err = submitted(t, dealtest.Presales, call,
		slackfake.Input{BlockID: blockURL, ActionID: actionURL, Type: "url_text_input", Value: "javascript:alert(1)"})
	if err != nil || !strings.Contains(errs[blockURL], "deliverable.url must be an absolute http or https URL") {
		t.Fatalf("a javascript: link: errors %v, %v", errs, err)
	}
	_, errs, err = submitted(t, dealtest.Presales, call,
		slackfake.Input{BlockID: blockNotes, ActionID: actionNotes, Value: "notes\x00with a NUL"})
	if err != nil || !strings.Contains(errs[blockNotes], "control character U+0000") {
		t.Fatalf("notes with a NUL: errors %v, %v", errs, err)
	}
}

func TestChangeRequestModal(t *testing.T) {
	meta := modalMeta{Deal: "d-1", Ticket: "discovery", Side: "client", Decision: "changes_requested", Channel: "C", TS: "1"}
	call := opened(t, signoffModal(meta, discovery, "Globex / Data"))
	sub, errs, err := submitted(t, dealtest.Presales, call, slackfake.Input{BlockID: blockNote, ActionID: actionNote, Value: "Add SSO"})
	if err != nil || errs != nil {
		t.Fatal(err, errs)
	}
	var got deal.SignoffSignal
	_ = json.Unmarshal(sub.Payload, &got)
	if got.Side != "client" || got.Decision != "changes_requested" || got.Note != "Add SSO" || got.Deliverable != nil {
		t.Fatalf("signal %+v", got)
	}
}

func TestHandoverModalAndSubmission(t *testing.T) {
	var cs []deal.Commitment
	for i := 1; i <= 12; i++ {
		cs = append(cs, deal.Commitment{ID: fmt.Sprintf("c%d", i), Kind: "success_criterion", Text: strings.Repeat("long text ", 20), By: dealtest.AE})
	}
	meta := modalMeta{Deal: "d-1", Channel: "DU_PM", TS: "1"}
	v := handoverModal(meta, cs, "Globex / Data")
	call := opened(t, v)
	// 10 checkboxes at most per group: 12 commitments make two groups.
	var groups []string
	for _, b := range v.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok && strings.HasPrefix(in.BlockID, blockAcksPref) {
			groups = append(groups, fmt.Sprintf("%s:%d", in.BlockID, len(in.Element.(*slack.CheckboxGroupsBlockElement).Options)))
		}
	}
	if fmt.Sprint(groups) != "[commitments_0:10 commitments_1:2]" {
		t.Fatalf("commitment groups %v", groups)
	}

	second, first := optionValues(t, call, "commitments_1"), optionValues(t, call, "commitments_0")
	sub, errs, err := submitted(t, dealtest.PM, call,
		slackfake.Input{BlockID: blockReviewed, ActionID: actionCheck, Type: "checkboxes", Selected: []string{"yes"}},
		slackfake.Input{BlockID: "commitments_1", ActionID: actionAcks, Type: "checkboxes", Selected: []string{second[1], second[0]}},
		slackfake.Input{BlockID: "commitments_0", ActionID: actionAcks, Type: "checkboxes", Selected: []string{first[1], first[0]}},
		slackfake.Input{BlockID: blockAmbig, ActionID: actionAmbig, Value: "- data retention\n\n• SSO provider  \n"},
		slackfake.Input{BlockID: blockResources, ActionID: actionCheck, Type: "checkboxes"})
	if err != nil || errs != nil {
		t.Fatal(err, errs)
	}
	if sub, err = sub.withCommitments(cs); err != nil {
		t.Fatal(err)
	}
	var got deal.HandoverSignal
	_ = json.Unmarshal(sub.Payload, &got)
	amb := []string{"data retention", "SSO provider"}
	want := deal.HandoverSignal{By: dealtest.PM, SignedOff: true, Checklist: deal.Checklist{DeliverablesReviewed: true,
		CommitmentsAcknowledged: []string{"c1", "c11", "c12", "c2"}, ScopeAmbiguities: &amb, ResourcesConfirmed: false}}
	if sub.Signal != deal.SigHandover || !reflect.DeepEqual(got, want) {
		t.Fatalf("signal %s %+v\nwant %+v", sub.Signal, got, want)
	}

	_, errs, _ = submitted(t, dealtest.PM, call, slackfake.Input{BlockID: blockAmbig, ActionID: actionAmbig, Value: " \n "})
	if errs[blockAmbig] == "" {
		t.Fatal("blank scope ambiguities were taken as an answer")
	}
}

func TestScopeAmbiguities(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{"none", []string{}, true},
		{"None.", []string{}, true},
		{"N/A", []string{}, true},
		{"", nil, false},
		{"a\nnone", []string{"a", "none"}, true},
		{"* one\n* two", []string{"one", "two"}, true},
	} {
		got, ok := ambiguities(c.in)
		if ok != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ambiguities(%q) = %#v, %v; want %#v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestCommitmentAndCloseLostModals(t *testing.T) {
	meta := modalMeta{Deal: "d-1", Ticket: "scoping", Channel: "C", TS: "1"}
	call := opened(t, commitmentModal(meta, "Globex / Data"))
	sub, errs, err := submitted(t, dealtest.AE, call,
		slackfake.Input{BlockID: blockKind, ActionID: actionKind, Type: "static_select", Selected: []string{"discount"}},
		slackfake.Input{BlockID: blockText, ActionID: actionText, Value: "10% off phase 2"},
		slackfake.Input{BlockID: blockValue, ActionID: actionValue, Value: "10%"})
	if err != nil || errs != nil {
		t.Fatal(err, errs)
	}
	var c deal.CommitmentSignal
	_ = json.Unmarshal(sub.Payload, &c)
	if want := (deal.CommitmentSignal{ID: "slack-V0TEST", Kind: "discount", Text: "10% off phase 2", Value: "10%", By: dealtest.AE}); c != want {
		t.Fatalf("commitment %+v, want %+v", c, want)
	}

	call = opened(t, closeLostModal(modalMeta{Deal: "d-1", Channel: "C", TS: "1"}, "Globex / Data"))
	sub, errs, err = submitted(t, dealtest.AE, call, slackfake.Input{BlockID: blockReason, ActionID: actionReason, Value: "budget cut"})
	if err != nil || errs != nil {
		t.Fatal(err, errs)
	}
	if string(sub.Payload) != `{"outcome":"lost","by":"U_AE","reason":"budget cut"}` {
		t.Fatalf("close payload %s", sub.Payload)
	}
}

func TestSubmissionOfAForeignView(t *testing.T) {
	v := slack.View{ID: "V1", CallbackID: "someone_elses", PrivateMetadata: "hello"}
	if _, _, err := readSubmission("U1", v); err == nil {
		t.Fatal("a view without dealflow's metadata was read")
	}
}

// optionValues lists the values of the checkboxes in a block of an opened
// modal, in order: what Slack sends back when they are ticked.
func optionValues(t *testing.T, call slackfake.Call, blockID string) []string {
	t.Helper()
	var view struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				Options []struct {
					Value string `json:"value"`
				} `json:"options"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(call.View, &view); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range view.Blocks {
		if b.BlockID == blockID {
			for _, o := range b.Element.Options {
				out = append(out, o.Value)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("modal has no options in block %s: %s", blockID, call.View)
	}
	return out
}

// Commitment ids can be longer than the 150 characters Slack allows an
// option's value: the checklist must still open, and a submission must
// acknowledge the ids themselves.
func TestHandoverModalWithLongCommitmentIDs(t *testing.T) {
	var cs []deal.Commitment
	for i := range 3 {
		cs = append(cs, deal.Commitment{ID: fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 200)), Kind: "date", Text: "go live in May", By: dealtest.AE})
	}
	call := opened(t, handoverModal(modalMeta{Deal: "d-1", Channel: "DU_PM", TS: "1"}, cs, "Globex / Data"))
	values := optionValues(t, call, "commitments_0")
	for _, v := range values {
		if len(v) > 150 {
			t.Fatalf("an option's value is %d characters; Slack takes 150", len(v))
		}
	}
	sub, errs, err := submitted(t, dealtest.PM, call,
		slackfake.Input{BlockID: "commitments_0", ActionID: actionAcks, Type: "checkboxes", Selected: []string{values[2], values[0]}},
		slackfake.Input{BlockID: blockAmbig, ActionID: actionAmbig, Value: "none"})
	if err != nil || errs != nil {
		t.Fatal(err, errs)
	}
	if sub.Payload != nil {
		t.Fatalf("a handover was ready to send before its commitments were read: %s", sub.Payload)
	}
	done, err := sub.withCommitments(cs)
	if err != nil {
		t.Fatal(err)
	}
	var got deal.HandoverSignal
	_ = json.Unmarshal(done.Payload, &got)
	if want := []string{cs[0].ID, cs[2].ID}; !reflect.DeepEqual(got.Checklist.CommitmentsAcknowledged, want) {
		t.Fatalf("acknowledged %v, want %v", got.Checklist.CommitmentsAcknowledged, want)
	}

	// A deal whose commitments are not the ones the checklist listed, or a
	// value that names none of them, sends nothing.
	if _, err := sub.withCommitments(cs[:2]); err == nil {
		t.Fatal("a checklist of 3 commitments was read against 2")
	}
	bad, _, _ := submitted(t, dealtest.PM, call,
		slackfake.Input{BlockID: "commitments_0", ActionID: actionAcks, Type: "checkboxes", Selected: []string{"7"}},
		slackfake.Input{BlockID: blockAmbig, ActionID: actionAmbig, Value: "none"})
	if _, err := bad.withCommitments(cs); err == nil {
		t.Fatal("a ticked box beyond the list was taken")
	}
}

// Every modal opens for a deal with names, ids and commitments as long as
// the rules allow: names of 4,000 characters made 8,000-character intros,
// and the commitment form asked Slack for a 4,000-character input.
func TestSlackModalsStayWithinLimits(t *testing.T) {
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	rec := &deal.Record{Terms: deal.Terms{Client: long("&", 4000), Workstream: long("<@U1> ", 666)}}
	name := dealName(rec)
	tk := deal.Ticket{ID: long("t", 128), Owner: long("U", 128), DeliverableKind: long("k", 128), Status: "open"}
	meta := modalMeta{Deal: long("d", 128), Ticket: tk.ID, Channel: "C0123456789", TS: "1700000000.000001"}
	for _, side := range []string{"internal", "client"} {
		for _, decision := range []string{"approve", "changes_requested"} {
			meta.Side, meta.Decision = side, decision
			opened(t, signoffModal(meta, tk, name))
		}
	}
	opened(t, commitmentModal(meta, name))
	opened(t, closeLostModal(meta, name))
	var cs []deal.Commitment
	for i := range 500 {
		cs = append(cs, deal.Commitment{ID: fmt.Sprintf("%03d%s", i, long("c", 125)), Kind: "success_criterion", Text: long("<&> ", 1000),
			Value: long("v", 4000), By: long("U", 128)})
	}
	call := opened(t, handoverModal(meta, cs, name))
	if intro := slackfake.MrkdwnTexts(call.View)[0]; !strings.Contains(intro, "&amp;&amp;&amp;") {
		t.Fatalf("the handover modal does not name the client: %.300s", intro)
	}
}
