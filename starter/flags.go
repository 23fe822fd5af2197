package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"dealflow/deal"
)

// usageError is a command line that cannot be run as written (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// newFlagSet makes a command's flag set; usage is printed only on -h.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: starter %s %s\n\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; -h prints the command's usage to stdout and stops the
// command with no error. A bad flag is one line, and exit 2.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return true, nil
	}
	if err != nil {
		return false, usageError{err.Error() + " (see `starter " + fs.Name() + " -h`)"}
	}
	return false, nil
}

// given reports which flags were set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// decimalVar binds a decimal flag: money and percentages are decimals end
// to end, never floats.
func decimalVar(fs *flag.FlagSet, dst *decimal.Decimal, name, usage string) {
	fs.Func(name, usage, func(s string) error {
		d, err := decimal.NewFromString(strings.TrimSpace(s))
		if err != nil {
			return errors.New("not a decimal number (write 1234.50)")
		}
		*dst = d
		return nil
	})
}

func decimalPtrVar(fs *flag.FlagSet, dst **decimal.Decimal, name, usage string) {
	fs.Func(name, usage, func(s string) error {
		d, err := decimal.NewFromString(strings.TrimSpace(s))
		if err != nil {
			return errors.New("not a decimal number (write 1.0850)")
		}
		*dst = &d
		return nil
	})
}

func dateVar(fs *flag.FlagSet, dst *deal.Date, name, usage string) {
	fs.Func(name, usage, func(s string) error {
		d, err := deal.ParseDate(s)
		if err != nil {
			return errors.New("not a date of the form YYYY-MM-DD")
		}
		*dst = d
		return nil
	})
}

// listVar appends to a list; each use may hold several values split by commas.
func listVar(fs *flag.FlagSet, dst *[]string, name, usage string) {
	fs.Func(name, usage, func(s string) error {
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				*dst = append(*dst, v)
			}
		}
		return nil
	})
}

// checker gathers what is wrong with a payload before it is sent, so one
// line names every problem. Field names are said the way the user wrote
// them: as flags, or as JSON fields of a --file.
type checker struct {
	flags map[string]bool // flags given; nil when the payload came from a file
	bad   []string
}

// flagName is the flag for a JSON field: invoice_id is --invoice-id.
func flagName(field string) string { return strings.ReplaceAll(field, "_", "-") }

func (c *checker) name(field string) string {
	if c.flags != nil {
		return "--" + flagName(field)
	}
	return fmt.Sprintf("field %q", field)
}

func (c *checker) add(format string, args ...any) {
	c.bad = append(c.bad, fmt.Sprintf(format, args...))
}

// need requires a text field.
func (c *checker) need(field, v string) bool {
	if strings.TrimSpace(v) == "" {
		c.add("missing %s", c.name(field))
		return false
	}
	return true
}

// needSet requires a decimal or date field: from flags it must have been
// given, in a file it must not be zero.
func (c *checker) needSet(field string, zero bool) {
	if c.flags != nil {
		if !c.flags[flagName(field)] {
			c.add("missing %s", c.name(field))
		}
		return
	}
	if zero {
		c.add("missing %s", c.name(field))
	}
}

// oneOf checks an enum field, once it is present.
func (c *checker) oneOf(field, v string, allowed []string) {
	if !c.need(field, v) {
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.add("%s must be %s, not %q", c.name(field), orList(allowed), v)
}

func (c *checker) err() error {
	if len(c.bad) == 0 {
		return nil
	}
	return usageError{strings.Join(c.bad, "; ")}
}

func orList(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

// readInput reads a file, or standard input for "-".
func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, rootCause(err))
	}
	return b, nil
}

// decodeStrict decodes JSON refusing unknown fields: a typo in a field name
// would otherwise be dropped without a word.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if f := badField(b, reflect.TypeOf(v).Elem()); f != "" && !strings.Contains(err.Error(), f) {
			return fmt.Errorf("field %q: %w", f, err)
		}
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// badField names the top-level field that fails to decode into typ: the
// decoders of decimals and dates do not say which field they were given.
func badField(b []byte, typ reflect.Type) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil {
		return ""
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{k: obj[k]})
		if json.Unmarshal(one, reflect.New(typ).Interface()) != nil {
			return k
		}
	}
	return ""
}
