package report

import (
	"fmt"

	"dealflow/deal"
)

// Definition says how one figure of the report is computed; the HTML page
// and the text output both print them, so the numbers can be argued with.
type Definition struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// Definitions of every figure, in the order of the report's columns.
var Definitions = []Definition{
	{"Recent deals", fmt.Sprintf("deals won (closed won, whatever their stage now) in the report's window, by default the last %d days; lost deals and deals still in presale are left out.", DefaultDays)},
	{"Scope ambiguities", "the scope ambiguities the PM listed in the handover checklist when signing it off."},
	{"Commitments outside the deliverables", "commitments (discounts, dates, integrations…) that no approved presale deliverable mentions, by the commitment's id as a word (such as c2) or by its whole text, ignoring case. The handover gate makes the PM acknowledge every commitment, so what shows a promise made on the side is that it never reached the documents the deal was scoped, proposed and priced on."},
	{"Change orders after handover", "change orders recorded after the handover sign-off, pending, approved or rejected alike: each means the scope was disputed once delivery began."},
	{"Points below target", "the mean over deals past handover of target margin minus forecast margin, in percentage points: positive when the forecast is below the margin the deal was sold at, negative when above it. A closed deal counts with the margin it closed on."},
	{"Days to sign-off", "the mean time from the close (won) to the PM's handover sign-off; handovers still open are counted apart."},
	{"Client sign-offs", "client approvals that counted, as given by the client themselves through a signed link / as recorded by the ticket's owner on the client's behalf (\"agreed by email\"). Only the first is the client's own word in the record."},
	{"Flag", fmt.Sprintf("an AE is flagged when the last %d of their recent deals past handover (newest by close date) all forecast below target by more than the deal's warning threshold (%d points unless the deal sets margin_warn_pts) and the same cost category took the most actual cost on each. Planned cost has no categories, so the category that took the most money is the one the overrun is put on.", PatternDeals, deal.DefaultWarnPts)},
}
