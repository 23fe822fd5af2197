package dealtest

import (
	"strings"

	"dealflow/deal"
)

// The tables below are run twice: on the rules alone (deal/apply_test.go)
// and through the workflow in the SDK's test environment
// (workflows/cases_test.go), so every rule is also shown to hold in the
// running deal.

// Case is a signal sent to a deal after its setup steps. For a refusal,
// Reason is a part of the refusal's text.
type Case struct {
	Name   string
	Setup  []Step
	Step   Step
	Reason string
}

func step(signal string, v any) Step { return Step{Signal: signal, Payload: JSON(v)} }

// RefusalCases is every refusal the rules make.
func RefusalCases() []Case {
	ho := func(c map[string]any) Step {
		full := map[string]any{"deliverables_reviewed": true, "commitments_acknowledged": []string{"c1", "c2"},
			"scope_ambiguities": []string{}, "resources_confirmed": true}
		for k, v := range c {
			if v == nil {
				delete(full, k)
			} else {
				full[k] = v
			}
		}
		return step(deal.SigHandover, map[string]any{"by": PM, "signed_off": true, "checklist": full})
	}
	approve := func(ticket, by, side string, deliverable any) Step {
		return step(deal.SigSignoff, map[string]any{"ticket": ticket, "by": by, "side": side, "decision": "approve", "deliverable": deliverable})
	}
	notes := map[string]string{"kind": "discovery_notes", "body": "notes"}
	return []Case{
		{"sign-off by someone not the owner", nil, approve("discovery", AE, "internal", notes), "only the ticket owner U_PRESALES"},
		{"sign-off of a ticket not open yet", nil, Approve("proposal", AE, "internal"), "no ticket \"proposal\""},
		{"sign-off of a closed ticket", ToClosing()[:2], Approve("discovery", Presales, "client"), "ticket discovery is closed"},
		{"unknown ticket", nil, Approve("kickoff", Presales, "internal"), "ticket must be one of discovery, scoping, proposal, pricing, not \"kickoff\""},
		{"approval without deliverable", nil, approve("discovery", Presales, "internal", nil), "needs its deliverable (discovery_notes)"},
		{"approval with an empty deliverable", nil, approve("discovery", Presales, "internal", map[string]string{"kind": "discovery_notes"}), "with a body or a url"},
		{"deliverable of the wrong kind", nil, approve("discovery", Presales, "internal", map[string]string{"kind": "pricing_rationale", "body": "x"}), "delivers discovery_notes"},
		{"client sign-off where none is needed", nil, approve("discovery", Presales, "client", notes), "takes no client sign-off"},
		{"client sign-off before the internal one", ToClosing()[:2], Approve("scoping", Presales, "client"), "after the internal approval"},
		{"change request without a note", nil, step(deal.SigSignoff, map[string]any{"ticket": "discovery", "by": Presales, "side": "internal", "decision": "changes_requested"}), "needs a note"},
		{"bad side", nil, approve("discovery", Presales, "vendor", notes), "side must be one of internal, client"},
		{"bad decision", nil, step(deal.SigSignoff, map[string]any{"ticket": "discovery", "by": Presales, "side": "internal", "decision": "maybe"}), "decision must be"},
		{"unknown field", nil, step(deal.SigSignoff, map[string]any{"tikcet": "discovery"}), "signoff has no field \"tikcet\""},
		{"payload not an object", nil, Step{Signal: deal.SigSignoff, Payload: []byte(`"approve"`)}, "signoff must be one JSON object"},
		{"unknown signal", nil, step("approve", map[string]any{}), "unknown signal \"approve\""},
		{"commitment of unknown kind", nil, step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "bribe", "text": "x", "by": AE}), "kind must be one of discount"},
		{"commitment without text", nil, step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "date", "by": AE}), "text is required"},
		{"commitment id reused with other content", ToClosing()[:2], step(deal.SigCommitment, map[string]string{"id": "c1", "kind": "discount", "text": "20% off", "by": AE}), "already recorded with other content"},
		{"commitment after the close", append(ToClosing(), Won()), step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "date", "text": "x", "by": AE}), "recorded during presale"},
		{"won before pricing is signed off", ToClosing()[:2], Won(), "only once pricing is signed off"},
		{"close by someone not the AE", ToClosing(), step(deal.SigClose, map[string]string{"outcome": "won", "by": PM}), "only the AE U_AE"},
		{"lost after won", append(ToClosing(), Won()), step(deal.SigClose, map[string]string{"outcome": "lost", "by": AE}), "only before it is won"},
		{"bad outcome", ToClosing(), step(deal.SigClose, map[string]string{"outcome": "postponed", "by": AE}), "outcome must be one of won, lost"},
		{"handover before the deal is won", ToClosing(), Handover(), "no handover ticket yet"},
		{"handover by someone not the PM", append(ToClosing(), Won()), step(deal.SigHandover, map[string]any{"by": AE, "signed_off": true, "checklist": map[string]any{"scope_ambiguities": []string{}}}), "only the assigned PM U_PM"},
		{"handover without deliverables reviewed", append(ToClosing(), Won()), ho(map[string]any{"deliverables_reviewed": false}), "deliverables_reviewed is not confirmed"},
		{"handover missing a commitment", append(ToClosing(), Won()), ho(map[string]any{"commitments_acknowledged": []string{"c1"}}), "commitments not acknowledged: c2"},
		{"handover without scope ambiguities stated", append(ToClosing(), Won()), ho(map[string]any{"scope_ambiguities": nil}), "scope_ambiguities must be stated"},
		{"handover without resources", append(ToClosing(), Won()), ho(map[string]any{"resources_confirmed": false}), "resources_confirmed is not confirmed"},
		{"handover twice", ToDelivery(), ho(map[string]any{"scope_ambiguities": []string{"other"}}), "already signed off"},
		{"stage move during the handover", append(ToClosing(), Won()), step(deal.SigStage, map[string]string{"to": "closed_won", "by": GM}), "only after the handover is signed off"},
		{"stage move to a stage not movable by hand", ToDelivery(), step(deal.SigStage, map[string]string{"to": "in_progress", "by": PM}), "to must be one of maintenance, closed_won"},
		{"stage move by the AE", ToDelivery(), step(deal.SigStage, map[string]string{"to": "maintenance", "by": AE}), "only the PM U_PM or the GM U_GM"},
		{"incident before the deal is won", ToClosing(), step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "major", "status": "open", "title": "x"}), "once the deal is won"},
		{"incident of unknown severity", ToDelivery(), step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "meh", "status": "open", "title": "x"}), "severity must be"},
		{"new incident without title", ToDelivery(), step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "major", "status": "open"}), "needs a title"},
		{"fee in another currency", ToDelivery(), step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "invoiced", "amount": "10", "currency": "USD", "date": "2026-02-01"}), "deal's currency EUR"},
		{"fee of zero", ToDelivery(), step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "invoiced", "amount": "0", "currency": "EUR", "date": "2026-02-01"}), "must not be zero"},
		{"fee before the deal is won", ToClosing(), step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "invoiced", "amount": "10", "currency": "EUR", "date": "2026-02-01"}), "once the deal is won"},
		{"invoice with a malformed amount", ToDelivery(), Invoice("i1", "travel", "12.x", "2026-02-01"), "amount \"12.x\" is not a decimal"},
		{"invoice of zero", ToDelivery(), Invoice("i1", "travel", "0", "2026-02-01"), "must not be zero"},
		{"invoice with an absurd amount", ToDelivery(), Invoice("i1", "travel", "1000000000000", "2026-02-01"), "more than 12 integer digits"},
		{"negative invoice that is no credit note", ToDelivery(), Invoice("i1", "travel", "-50", "2026-02-01"), "allowed only on a credit note"},
		{"foreign invoice without fx rate", ToDelivery(), step(deal.SigInvoice, map[string]string{"invoice_id": "i1", "category": "travel", "amount": "50", "currency": "USD", "date": "2026-02-01"}), "fx_rate is required"},
		{"invoice of unknown category", ToDelivery(), Invoice("i1", "snacks", "50", "2026-02-01"), "category must be one of"},
		{"change order from an outsider", ToDelivery(), step(deal.SigChangeOrder, map[string]string{"id": "co1", "amount": "10", "planned_cost": "5", "status": "pending", "by": "U_X"}), "come from the AE, PM or GM"},
		{"change order before the deal is won", ToClosing(), step(deal.SigChangeOrder, map[string]string{"id": "co1", "amount": "10", "planned_cost": "5", "status": "pending", "by": AE}), "after the deal is won"},
		{"change order wiping out revenue", ToDelivery(), step(deal.SigChangeOrder, map[string]string{"id": "co1", "amount": "-100000", "planned_cost": "0", "status": "approved", "by": GM}), "revenue to zero or below"},
		{"progress by the AE", ToDelivery(), step(deal.SigProgress, map[string]string{"pct_complete": "10", "by": AE}), "only the PM U_PM"},
		{"progress over 100", ToDelivery(), step(deal.SigProgress, map[string]string{"pct_complete": "101", "by": PM}), "pct_complete 101 is above 100"},
		{"a person that is not a Slack user id", nil, step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "date", "text": "x", "by": "U1> <!channel"}), "is not a Slack user id"},
		{"a NUL character in a field", nil, step(deal.SigCommitment, map[string]string{"id": "c9", "kind": "date", "text": "x\x00", "by": AE}), "text holds the control character U+0000"},
		{"an id longer than Slack can carry", nil, step(deal.SigCommitment, map[string]string{"id": strings.Repeat("c", 129), "kind": "date", "text": "x", "by": AE}), "id is 129 characters; an id has at most 128"},
		{"an amount with absurd precision", ToDelivery(), Invoice("i1", "travel", "1e-400", "2026-02-01"), "amount \"1e-400\" is not a decimal"},
		{"progress with absurd precision", ToDelivery(), step(deal.SigProgress, map[string]string{"pct_complete": "1e-400", "by": PM}), "pct_complete \"1e-400\" is not a decimal"},
		{"two descoping change orders taking revenue below zero", append(ToDelivery(), step(deal.SigChangeOrder, map[string]string{"id": "co1", "amount": "-60000", "planned_cost": "0", "status": "approved", "by": GM})),
			step(deal.SigChangeOrder, map[string]string{"id": "co2", "amount": "-60000", "planned_cost": "0", "status": "approved", "by": GM}), "revenue to zero or below"},
		{"client signer with an internal sign-off", ToClosing()[:2], ClientSigned("scoping", "internal", "approve", nil), "only with side client"},
		{"client signer without a name", ToClosing()[:3], ClientSigned("scoping", "client", "approve", map[string]string{"name": " "}), "client.name is required; it is blank"},
		{"client signer with a bad email", ToClosing()[:3], ClientSigned("scoping", "client", "approve", map[string]string{"email": "Jane <jane@client.com>"}), "is not an email address"},
		{"client signer before the internal approval", ToClosing()[:2], ClientSigned("scoping", "client", "approve", nil), "after the internal approval"},
		{"client signer on another deliverable", ToClosing()[:3], ClientSigned("scoping", "client", "approve", map[string]string{"body": "an older draft"}), "changed since the client's link was issued"},
		{"client signer asking for changes on another deliverable", ToClosing()[:3], ClientSigned("scoping", "client", "changes_requested", map[string]string{"body": "an older draft"}), "changed since the client's link was issued"},
		{"client signer asking for changes without a note", ToClosing()[:3], ClientSigned("scoping", "client", "changes_requested", map[string]string{"note": ""}), "needs a note"},
		{"client signer on a ticket without client sign-off", ToClosing()[:1], ClientSigned("discovery", "client", "approve", nil), "takes no client sign-off"},
		{"client signer not sent by the owner", ToClosing()[:3], ClientSigned("scoping", "client", "approve", map[string]string{"by": AE}), "only the ticket owner"},
		{"progress before delivery", append(ToClosing(), Won()), step(deal.SigProgress, map[string]string{"pct_complete": "10", "by": PM}), "during delivery"},
		{"question by the AE", ToDelivery(), Ask("q1", AE, "what did you promise?"), "only the PM U_PM or the GM U_GM asks the AE"},
		{"question by an outsider", ToDelivery(), Ask("q1", Presales, "what did you promise?"), "only the PM U_PM or the GM U_GM"},
		{"question before the deal is won", ToClosing(), Ask("q1", PM, "what did you promise?"), "after the deal is won"},
		{"question text too long", ToDelivery(), Ask("q1", PM, strings.Repeat("?", deal.MaxQuestionLen+1)), "text is longer than 2000 characters"},
		{"question without text", ToDelivery(), Ask("q1", PM, " "), "text is required; it is blank"},
		{"question id reused with other content", append(ToDelivery(), Ask("q1", PM, "what did you promise?")), Ask("q1", PM, "and the date?"), "already asked with other content"},
		{"answer by someone not the AE", append(ToDelivery(), Ask("q1", PM, "what did you promise?")), Reply("q1", PM, "I think 10%"), "only the AE U_AE answers"},
		{"answer to no question", ToDelivery(), Reply("q9", AE, "10%"), "no question \"q9\""},
		{"a second, different answer", append(ToDelivery(), Ask("q1", PM, "what did you promise?"), Reply("q1", AE, "10% off phase 2")), Reply("q1", AE, "actually 15%"), "already answered"},
		{"answer text too long", append(ToDelivery(), Ask("q1", PM, "what did you promise?")), Reply("q1", AE, strings.Repeat("!", deal.MaxAnswerLen+1)), "text is longer than 4000 characters"},
	}
}

// DuplicateCases is a signal repeated after it was taken: a no-op.
func DuplicateCases() []Case {
	cases := []struct {
		name  string
		setup []Step
		again Step
	}{
		{"the same internal approval twice", ToClosing()[:3], ToClosing()[2]},
		{"a sign-off of a closed ticket, repeated", ToClosing()[:2], ToClosing()[1]},
		{"a sign-off with the same id", []Step{step(deal.SigSignoff, map[string]any{"id": "slack-1", "ticket": "discovery", "by": Presales, "side": "internal", "decision": "changes_requested", "note": "more detail"})},
			step(deal.SigSignoff, map[string]any{"id": "slack-1", "ticket": "discovery", "by": Presales, "side": "internal", "decision": "changes_requested", "note": "more detail"})},
		{"the same commitment", ToClosing()[:1], ToClosing()[0]},
		{"a client's decision through a link, re-sent", append(ToClosing()[:3:3], ClientSigned("scoping", "client", "changes_requested", nil)),
			ClientSigned("scoping", "client", "changes_requested", map[string]string{"note": "another note under the same link"})},
		{"close won twice", append(ToClosing(), Won()), Won()},
		{"the handover twice", ToDelivery(), Handover()},
		{"the same invoice", append(ToDelivery(), Invoice("i1", "travel", "50", "2026-02-01")), Invoice("i1", "travel", "50.00", "2026-02-01")},
		{"the same fee", append(ToDelivery(), step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "collected", "amount": "10", "currency": "EUR", "date": "2026-02-01"})),
			step(deal.SigFee, map[string]string{"fee_id": "f1", "kind": "collected", "amount": "10", "currency": "EUR", "date": "2026-02-01"})},
		{"the same incident status", append(ToDelivery(), step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "minor", "status": "open", "title": "typo"})),
			step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "minor", "status": "open", "title": "typo"})},
		{"maintenance twice", append(ToDelivery(), step(deal.SigStage, map[string]string{"to": "maintenance", "by": PM})), step(deal.SigStage, map[string]string{"to": "maintenance", "by": GM})},
		{"the same progress", append(ToDelivery(), Progress("40")), Progress("40.0")},
		{"close lost re-sent after the deal ended", []Step{step(deal.SigClose, map[string]string{"outcome": "lost", "by": AE})},
			step(deal.SigClose, map[string]string{"outcome": "lost", "by": AE})},
		{"an invoice re-sent after the deal ended", append(ToDelivery(), Invoice("i1", "travel", "50", "2026-02-01"), step(deal.SigStage, map[string]string{"to": "closed_won", "by": GM})),
			Invoice("i1", "travel", "50", "2026-02-01")},
		{"the same question", append(ToDelivery(), Ask("q1", PM, "what did you promise?")), Ask("q1", PM, "what did you promise?")},
		{"the same answer", append(ToDelivery(), Ask("q1", GM, "what did you promise?"), Reply("q1", AE, "10% off phase 2")), Reply("q1", AE, "10% off phase 2")},
		{"closed_won re-sent", append(ToDelivery(), step(deal.SigStage, map[string]string{"to": "closed_won", "by": GM})),
			step(deal.SigStage, map[string]string{"to": "closed_won", "by": PM})},
	}
	out := make([]Case, len(cases))
	for i, c := range cases {
		out[i] = Case{Name: c.name, Setup: c.setup, Step: c.again}
	}
	return out
}

// TransitionCase walks a deal through steps and names the stages it went
// through, in order.
type TransitionCase struct {
	Name  string
	Steps []Step
	Want  []deal.Stage
}

// TransitionCases covers every way a stage changes.
func TransitionCases() []TransitionCase {
	critical := func(status string) Step {
		return step(deal.SigIncident, map[string]string{"incident_id": "i1", "severity": "critical", "status": status, "title": "outage"})
	}
	stage := func(to, by string) Step { return step(deal.SigStage, map[string]string{"to": to, "by": by}) }
	return []TransitionCase{
		{"presale tickets open one after the other", ToClosing(),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing}},
		{"scoping waits for the client", ToClosing()[:3], []deal.Stage{deal.Discovery, deal.Scoping}},
		{"lost from discovery", []Step{step(deal.SigClose, map[string]string{"outcome": "lost", "by": AE, "reason": "budget"})},
			[]deal.Stage{deal.Discovery, deal.ClosedLost}},
		{"won opens the handover, the PM's sign-off starts delivery", ToDelivery(),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress}},
		{"a critical incident lays mitigation over delivery and lifts it", append(ToDelivery(), critical("open"), critical("resolved")),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Mitigation, deal.InProgress}},
		{"resolving returns to maintenance when it was moved there meanwhile", append(ToDelivery(), critical("open"), stage("maintenance", PM), critical("resolved"), stage("closed_won", GM)),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Mitigation, deal.Maintenance, deal.ClosedWon}},
		{"a critical incident during the handover does not skip the gate", append(append(ToClosing(), Won(), critical("open")), Handover()),
			[]deal.Stage{deal.Discovery, deal.Scoping, deal.Proposal, deal.Pricing, deal.Closing, deal.Handover, deal.InProgress, deal.Mitigation}},
	}
}
