package deal

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bojanz/currency"
	"github.com/shopspring/decimal"
)

// CheckInput checks a JSON input (a signal payload, the start terms or a
// finance row) against Fields before anything decodes it into Go values:
// its size, UTF-8, that it is one JSON object, that no key repeats, that
// every key is a field of the input, that required fields are there and
// that every value holds what its field may hold. Strings and numbers are
// checked by their length before they are parsed, so no input of any size
// costs more than one pass over its bytes.
//
// beside names top-level keys that are not the input's but travel with it
// (a workflow's start input holds the terms and the run's own fields);
// their values are skipped.
func CheckInput(input string, payload []byte, beside ...string) error {
	if !slices.Contains(Inputs, input) {
		return refuse("unknown input %q; known: %s", input, strings.Join(Inputs, ", "))
	}
	if len(payload) > maxPayload {
		return refuse("payload is %d bytes; an input holds at most %d", len(payload), maxPayload)
	}
	if !utf8.Valid(payload) {
		return refuse("payload is not valid UTF-8 (at byte %d); send text as UTF-8", invalidUTF8At(payload))
	}
	sc := scanner{dec: json.NewDecoder(bytes.NewReader(payload)), beside: beside}
	sc.dec.UseNumber()
	tok, err := sc.dec.Token()
	if err != nil || tok != json.Delim('{') {
		return refuse("%s must be one JSON object", name(input))
	}
	sc.stack = []frame{{object: true, path: input, seen: map[string]bool{}, wantKey: true}}
	for len(sc.stack) > 0 {
		tok, err := sc.dec.Token()
		if err != nil {
			return refuse("payload is not valid JSON: %s", err)
		}
		if err := sc.take(tok); err != nil {
			return err
		}
	}
	if _, err := sc.dec.Token(); err != io.EOF {
		return refuse("payload holds more than one JSON value")
	}
	return nil
}

// frame is one open object or list.
type frame struct {
	object  bool
	path    string
	seen    map[string]bool // keys met, for objects
	wantKey bool
	key     string
	items   int // for lists
}

type scanner struct {
	dec    *json.Decoder
	stack  []frame
	beside []string
}

func (sc *scanner) take(tok json.Token) error {
	top := &sc.stack[len(sc.stack)-1]
	if top.object && top.wantKey {
		if tok == json.Delim('}') {
			return sc.closeObject()
		}
		key, _ := tok.(string)
		if top.seen[key] {
			return refuse("%s holds the field %q twice", name(top.path), key)
		}
		top.seen[key] = true
		if len(sc.stack) == 1 && slices.Contains(sc.beside, key) {
			var skip json.RawMessage
			if err := sc.dec.Decode(&skip); err != nil {
				return refuse("payload is not valid JSON: %s", err)
			}
			return nil
		}
		if FieldOf(top.path+"."+key) == nil {
			return refuse("%s has no field %q; its fields are %s", name(top.path), clip(key, maxIDLen), strings.Join(childrenOf(top.path), ", "))
		}
		top.key, top.wantKey = key, false
		return nil
	}
	if !top.object && tok == json.Delim(']') {
		sc.stack = sc.stack[:len(sc.stack)-1]
		sc.valueDone()
		return nil
	}
	path, inList := top.path, !top.object
	if top.object {
		path += "." + top.key
	}
	f := FieldOf(path)
	if inList {
		top.items++
		if f.MaxItems > 0 && top.items > f.MaxItems {
			return refuse("%s holds more than %d items", name(path), f.MaxItems)
		}
	}
	switch v := tok.(type) {
	case json.Delim:
		switch {
		case v == '{' && f.Kind == KindObject:
			sc.stack = append(sc.stack, frame{object: true, path: path, seen: map[string]bool{}, wantKey: true})
		case v == '[' && f.List && !inList:
			sc.stack = append(sc.stack, frame{path: path})
		default:
			return refuse("%s must be %s", name(path), describe(f, inList))
		}
		return nil
	case nil:
		if inList {
			return refuse("%s holds null; each item must be %s", name(path), describe(f, true))
		}
		if f.Required {
			return refuse("%s is required; null is not a value", name(path))
		}
	case string:
		if f.Kind == KindObject || f.Kind == KindBool || f.Kind == KindDays || (f.List && !inList) {
			return refuse("%s must be %s, not a string", name(path), describe(f, inList))
		}
		if v == "" && f.Required {
			return refuse("%s is required; it is empty", name(path))
		}
		if v == "" && !inList && !isNumber(f.Kind) {
			break // an empty optional text is the same as a missing one
		}
		if err := checkValue(f, v); err != nil {
			return err
		}
	case json.Number:
		switch f.Kind {
		case KindMoney, KindRate, KindPercent:
			return refuse("%s must be a decimal string such as \"12.50\", not the JSON number %s", name(path), clip(string(v), maxNumberLen))
		case KindDays:
			if len(v) > 5 || strings.ContainsAny(string(v), ".eE-+") {
				return refuse("%s must be a whole number of days, not %s", name(path), clip(string(v), maxNumberLen))
			}
		default:
			return refuse("%s must be %s, not a number", name(path), describe(f, inList))
		}
	case bool:
		if f.Kind != KindBool {
			return refuse("%s must be %s, not true or false", name(path), describe(f, inList))
		}
	}
	sc.valueDone()
	return nil
}

func (sc *scanner) closeObject() error {
	top := sc.stack[len(sc.stack)-1]
	for _, child := range childrenOf(top.path) {
		if f := FieldOf(top.path + "." + child); f.Required && !top.seen[child] {
			return refuse("%s is required", name(top.path+"."+child))
		}
	}
	sc.stack = sc.stack[:len(sc.stack)-1]
	sc.valueDone()
	return nil
}

// valueDone is called after a whole value: its object wants a key next.
func (sc *scanner) valueDone() {
	if n := len(sc.stack); n > 0 && sc.stack[n-1].object {
		sc.stack[n-1].wantKey = true
	}
}

// name is a path as people read it in a refusal: without the input, and
// an input by what people call it.
func name(path string) string {
	if _, rest, ok := strings.Cut(path, "."); ok {
		return rest
	}
	if path == "finance" {
		return "an invoice row"
	}
	return path
}

func isNumber(k Kind) bool { return k == KindMoney || k == KindRate || k == KindPercent }

func describe(f *Field, inList bool) string {
	if f.List && !inList {
		return "a list of " + string(f.Kind) + " values"
	}
	switch f.Kind {
	case KindObject:
		return "an object"
	case KindBool:
		return "true or false"
	case KindDays:
		return "a whole number of days"
	}
	return "a string (" + string(f.Kind) + ")"
}

// CheckValue checks one string value of the field at path (such as
// "handover.checklist.scope_ambiguities"), for a surface that builds an
// input from parts, such as a Slack form.
func CheckValue(path, value string) error {
	f := FieldOf(path)
	if f == nil || f.Kind == KindObject || f.Kind == KindBool || f.Kind == KindDays {
		return refuse("no text field %q", clip(path, maxIDLen))
	}
	return checkValue(f, value)
}

// CheckCell checks one value of a CSV finance file: the same rule as the
// same field in JSON. An empty cell is a missing value.
func CheckCell(column, value string) error {
	f := FieldOf("finance." + column)
	if f == nil {
		return refuse("a finance file has no column %q", clip(column, maxIDLen))
	}
	if value == "" {
		if f.Required {
			return refuse("%s is required", column)
		}
		return nil
	}
	if !utf8.ValidString(value) {
		return refuse("%s is not valid UTF-8; save the file as UTF-8", column)
	}
	if f.Kind == KindBool {
		// Spreadsheets write TRUE and FALSE.
		if v := strings.ToLower(value); v != "true" && v != "false" {
			return refuse("%s must be true, false or empty, not %q", column, clip(value, 20))
		}
		return nil
	}
	return checkValue(f, value)
}

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	refPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)
	personPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	moneyPattern  = regexp.MustCompile(`^-?([0-9]+)(\.([0-9]+))?$`)
	datePattern   = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

const (
	maxPersonLen  = 64
	maxEmailLen   = 254
	maxPctPlaces  = 4
	maxUnitPlaces = 4 // the largest ISO 4217 minor unit (CLF, UYW)
)

// checkValue is the rule of a field's kind for one string value.
func checkValue(f *Field, v string) error {
	n := name(f.Path)
	max := f.Max
	switch f.Kind {
	case KindID, KindRef:
		if max == 0 {
			max = maxIDLen
		}
		pattern := idPattern
		if f.Kind == KindRef {
			pattern = refPattern
		}
		if len(v) > max {
			return refuse("%s is %d characters; an id has at most %d", n, len(v), max)
		}
		if !pattern.MatchString(v) {
			return refuse("%s %q is not an id: ids start with a letter or digit and hold only %s", n, clip(v, maxIDLen), idChars(f.Kind))
		}
	case KindKey:
		if len(v) > maxIDLen {
			return refuse("%s is %d characters; an id has at most %d", n, len(v), maxIDLen)
		}
		if strings.IndexFunc(v, unicode.IsControl) >= 0 || !utf8.ValidString(v) {
			return refuse("%s %q holds a control character", n, clip(v, maxIDLen))
		}
		if strings.TrimSpace(v) == "" {
			return refuse("%s is blank", n)
		}
	case KindPerson:
		if len(v) > maxPersonLen || !personPattern.MatchString(v) {
			return refuse("%s %q is not a Slack user id (letters, digits, _ . -; at most %d)", n, clip(v, maxIDLen), maxPersonLen)
		}
	case KindText, KindNote:
		if max == 0 {
			max = maxTextLen
		}
		if len(v) > 4*max || utf8.RuneCountInString(v) > max {
			return refuse("%s is longer than %d characters", n, max)
		}
		for _, r := range v {
			if unicode.IsControl(r) && (f.Kind == KindText || (r != '\n' && r != '\r' && r != '\t')) {
				return refuse("%s holds the control character %U", n, r)
			}
		}
		if f.Required && strings.TrimSpace(v) == "" {
			return refuse("%s is required; it is blank", n)
		}
	case KindURL:
		if len(v) > maxURLLen {
			return refuse("%s is longer than %d characters", n, maxURLLen)
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.IndexFunc(v, unicode.IsSpace) >= 0 || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return refuse("%s must be an absolute http or https URL", n)
		}
	case KindEmail:
		local, domain, ok := strings.Cut(v, "@")
		if len(v) > maxEmailLen || !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
			strings.IndexFunc(v, unicode.IsSpace) >= 0 || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return refuse("%s is not an email address", n)
		}
	case KindMoney:
		if _, err := parseDecimal(n, v, true, maxIntegerDigits, maxUnitPlaces); err != nil {
			return err
		}
	case KindRate:
		d, err := parseDecimal(n, v, false, maxIntegerDigits, maxFXPlaces)
		if err != nil {
			return err
		}
		if d.Sign() <= 0 {
			return refuse("%s must be above 0", n)
		}
	case KindPercent:
		d, err := parseDecimal(n, v, false, 3, maxPctPlaces)
		if err != nil {
			return err
		}
		if d.GreaterThan(hundred) {
			return refuse("%s %s is above 100", n, v)
		}
	case KindCurrency:
		if !IsCurrency(v) {
			return refuse("%s %q is not an ISO 4217 currency code (three capitals, such as EUR)", n, clip(v, 20))
		}
	case KindDate:
		d, err := time.Parse(dateLayout, v)
		if !datePattern.MatchString(v) || err != nil {
			return refuse("%s %q is not a date of the form YYYY-MM-DD", n, clip(v, 40))
		}
		if d.Year() < 2000 || d.Year() > 2199 {
			return refuse("%s %s is outside the years 2000 to 2199", n, v)
		}
	case KindTime:
		if len(v) > 40 {
			return refuse("%s is not a time of the form 2026-03-01T09:30:00Z", n)
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return refuse("%s %q is not a time of the form 2026-03-01T09:30:00Z", n, clip(v, 40))
		}
		if t.Year() < 2000 || t.Year() > 2199 {
			return refuse("%s %s is outside the years 2000 to 2199", n, v)
		}
	case KindEnum:
		if !slices.Contains(f.Values, v) {
			return refuse("%s must be one of %s, not %q", n, strings.Join(f.Values, ", "), clip(v, maxIDLen))
		}
	case KindDuration:
		if len(v) > 32 {
			return refuse("%s is not a duration such as 24h or 2m", n)
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return refuse("%s %q must be a duration of at least 1s, such as 24h or 2m", n, clip(v, 40))
		}
	}
	return nil
}

func idChars(k Kind) string {
	if k == KindRef {
		return "A-Z a-z 0-9 . _ - : /"
	}
	return "A-Z a-z 0-9 . _ - :"
}

// parseDecimal reads a decimal string after checking its shape and size,
// so nothing long or odd (exponents, spaces, a plus sign) reaches the
// arithmetic.
func parseDecimal(n, v string, signed bool, intDigits, places int) (decimal.Decimal, error) {
	if len(v) > maxNumberLen {
		return decimal.Decimal{}, refuse("%s is %d characters long; a number has at most %d", n, len(v), maxNumberLen)
	}
	m := moneyPattern.FindStringSubmatch(v)
	if m == nil || (!signed && strings.HasPrefix(v, "-")) {
		sign := "an optional -, "
		if !signed {
			sign = ""
		}
		return decimal.Decimal{}, refuse("%s %q is not a decimal: write %sdigits and optionally . and more digits, such as \"1250.50\"", n, clip(v, maxNumberLen), sign)
	}
	if len(strings.TrimLeft(m[1], "0")) > intDigits {
		return decimal.Decimal{}, refuse("%s %s has more than %d integer digits", n, v, intDigits)
	}
	if len(m[3]) > places {
		return decimal.Decimal{}, refuse("%s %s has more than %d decimal places", n, v, places)
	}
	return decimal.RequireFromString(v), nil
}

// IsCurrency is true for an ISO 4217 currency code, as the library of
// record (github.com/bojanz/currency, which embeds ISO's list and minor
// units) has them. Its data decides what deals accept, so upgrading it is
// a change of the rules (a new rules version), not a routine bump.
func IsCurrency(code string) bool { return len(code) == 3 && currency.IsValid(code) }

// MinorUnits is the number of decimal places of a currency's minor unit as
// ISO 4217 defines it (EUR 2, JPY 0, KWD 3); 2 for a code it does not list,
// which only a deal opened before currencies were checked can hold.
func MinorUnits(code string) int32 {
	if d, ok := currency.GetDigits(code); ok {
		return int32(d)
	}
	return 2
}

// checkMinorUnits refuses an amount finer than its currency's minor unit:
// no JPY has cents and no EUR has a tenth of a cent.
func checkMinorUnits(n string, d decimal.Decimal, code string) error {
	if places := MinorUnits(code); d.Exponent() < -places && !d.Equal(d.Round(places)) {
		return refuse("%s %s has more decimal places than %s has (%d)", n, d, code, places)
	}
	return nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}
