package deal

import (
	"bytes"
	"encoding/json"

	"github.com/shopspring/decimal"
)

// Text limits keep one deal's record well under Temporal's payload limit
// whatever people paste, and ids short enough for Slack (which caps a
// button or option value at 150 characters).
const (
	maxIDLen   = 128
	maxURLLen  = 2000
	maxBodyLen = 20000
	maxTextLen = 4000
)

// decimalPlaces refuses amounts written with more precision than money
// has; it also keeps exponents such as 1e-400 out of the arithmetic.
func decimalPlaces(name string, d decimal.Decimal, max int32) error {
	if d.Exponent() < -max {
		return refuse("%s has more than %d decimal places", name, max)
	}
	return nil
}

// maxPayload bounds one signal's payload before it is decoded: the largest
// valid one (a handover checklist acknowledging MaxCommitments ids and
// stating MaxAmbiguities long ambiguities) is below it.
const maxPayload = 512 << 10

// maxNumberLen bounds a number's text before any arithmetic touches it:
// 12 integer digits, 10 decimal places, a sign and a point fit easily.
const maxNumberLen = 40

var moneyFields = map[string]bool{"amount": true, "planned_cost": true, "fx_rate": true, "pct_complete": true,
	"contract_value": true, "target_margin_pct": true, "margin_warn_pts": true, "margin_critical_pts": true}

// guardPayload refuses, by length alone, what would cost more than a
// bounded amount to decode: a payload over maxPayload, or a number (or a
// money field's string) longer than maxNumberLen. A million-digit amount
// is refused in microseconds instead of being parsed.
func guardPayload(payload []byte) error {
	if len(payload) > maxPayload {
		return refuse("payload is %d bytes; a signal holds at most %d", len(payload), maxPayload)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	// inObject[i] and wantKey[i] follow the open objects and arrays, so a
	// string is known to be a key or a value.
	var inObject, wantKey []bool
	key := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or broken JSON the strict decode reports
		}
		top := len(inObject) - 1
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				if top >= 0 && inObject[top] {
					wantKey[top] = true
				}
				inObject, wantKey = append(inObject, d == '{'), append(wantKey, true)
			} else {
				inObject, wantKey = inObject[:top], wantKey[:top]
			}
			continue
		}
		if top >= 0 && inObject[top] && wantKey[top] {
			key, _ = tok.(string)
			wantKey[top] = false
			continue
		}
		switch v := tok.(type) {
		case json.Number:
			if len(v) > maxNumberLen {
				return refuse("%s is a number of %d characters; at most %d", key, len(v), maxNumberLen)
			}
		case string:
			if moneyFields[key] && len(v) > maxNumberLen {
				return refuse("%s is %d characters long; an amount has at most %d", key, len(v), maxNumberLen)
			}
		}
		if top >= 0 && inObject[top] {
			wantKey[top] = true
		}
	}
}
