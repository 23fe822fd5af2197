package dealv1

import (
	"reflect"
	"regexp"
	"strings"

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

func textLimit(field string) int {
	switch {
	case field == "id" || strings.HasSuffix(field, "_id") || field == "by" || field == "ticket" || field == "kind" ||
		field == "side" || field == "decision" || field == "outcome" || field == "to" || field == "status" ||
		field == "severity" || field == "category" || field == "currency" || field == "pm" || field == "ae" ||
		field == "presales" || field == "pricing_approver" || field == "gm" || field == "slack_channel":
		return maxIDLen
	case field == "url":
		return maxURLLen
	case field == "body":
		return maxBodyLen
	}
	return maxTextLen
}

// userID is what a person field may hold: Slack user ids are shown as
// <@id> mentions, so anything that could close the mention is refused.
var userID = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func isUserField(field string) bool {
	switch field {
	case "by", "ae", "presales", "pricing_approver", "pm", "gm":
		return true
	}
	return false
}

// checkText walks every string of a decoded payload: none may hold a NUL
// character (PostgreSQL text cannot store one, so one NUL would stop every
// later write of the deal) or be longer than its field's limit.
func checkText(v any) error {
	return walkText(reflect.ValueOf(v), "")
}

func walkText(v reflect.Value, field string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkText(v.Elem(), field)
	case reflect.String:
		s := v.String()
		if strings.ContainsRune(s, 0) {
			return refuse("%s contains a NUL character", field)
		}
		if max := textLimit(field); len(s) > max {
			return refuse("%s is longer than %d characters", field, max)
		}
		if isUserField(field) && s != "" && !userID.MatchString(s) {
			return refuse("%s %q is not a Slack user id (letters, digits, _ . -)", field, s)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := walkText(v.Index(i), field); err != nil {
				return err
			}
		}
	case reflect.Struct:
		// Only this package's types hold free text; decimals and dates
		// check themselves.
		if v.Type().PkgPath() != reflect.TypeOf(Terms{}).PkgPath() {
			return nil
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous {
				name = field
			}
			if name == "" {
				name = f.Name
			}
			if err := walkText(v.Field(i), name); err != nil {
				return err
			}
		}
	}
	return nil
}

// decimalPlaces refuses amounts written with more precision than money
// has; it also keeps exponents such as 1e-400 out of the arithmetic.
func decimalPlaces(name string, d decimal.Decimal, max int32) error {
	if d.Exponent() < -max {
		return refuse("%s has more than %d decimal places", name, max)
	}
	return nil
}
