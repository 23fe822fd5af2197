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
	{"1. Questions to the AE per won deal", fmt.Sprintf("questions the PM or GM asked the AE through Ask the AE in the first %d days after the close, divided by the won deals; with the median hours from a question to its answer (every answered question) and the questions still unanswered. Each is a PM asking \"what did you promise them?\", counted directly.", FirstDays)},
	{"2. Scope found at kickoff", fmt.Sprintf("scope ambiguities the PM stated at the handover + change orders recorded in the first %d days after the handover sign-off + commitments someone tried to record after the close that were never recorded before it (the rules refuse them; the refusal is kept).", FirstDays)},
	{"3. Margin seen late", fmt.Sprintf("invoice lag: the mean days from an invoice's date to its arrival in dealflow (per deal, then over deals). For every margin alert that worsened: the days from the date of the invoice that caused it (the last one received before the alert) to the alert, the day of the project it came on (from the handover sign-off), and how many days before a monthly close would have shown it: the end of the invoice's month plus finance's close lag (DEALFLOW_CLOSE_LAG_DAYS, default %d days).", DefaultCloseLagDays)},
	{"4. Overselling", "the flag below, and each AE's points below target by quarter of the close, so a habit shows as it grows."},
	{"5. Shadow tracking (a proxy)", "the share of a deal's lines (invoices and commitments, late commitment attempts included) that arrived after the handover sign-off with no trail before the close: an invoice whose supplier was on no invoice received before the close and is named in no commitment or approved deliverable (or has no supplier), and every late commitment attempt. Beside it, bulk finance files whose every row for the deal only corrected earlier rows (a credit note, a repeat or a refused re-send): ops fixing the record after the fact. Work kept outside dealflow cannot be seen; this is what it leaves behind."},
	{"Trends", fmt.Sprintf("each sign's figure over all deals won in each of the last %d calendar quarters (UTC), by quarter of the close, whatever the report's window.", TrendQuarters)},
	{"Flag", fmt.Sprintf("an AE is flagged when the last %d of their recent deals past handover (newest by close date) all forecast below target by more than the deal's warning threshold (%d points unless the deal sets margin_warn_pts) and the same cost category took the most actual cost on each. Planned cost has no categories, so the category that took the most money is the one the overrun is put on.", PatternDeals, deal.DefaultWarnPts)},
}
