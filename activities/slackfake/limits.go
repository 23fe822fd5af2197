package slackfake

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits are what Slack refuses a message or a view for. The fake Web API
// checks every chat.postMessage, chat.update and views.open against them,
// and property tests check rendered messages with the same functions, so a
// message the tests accept is one Slack takes.
//
// Sources (Slack's own reference, read 2025):
//   - blocks per message 50, per view 100; section text 3,000, fields 10 of
//     2,000; header 150; context 10 elements; actions 25 elements; block_id
//     255: https://docs.slack.dev/reference/block-kit/blocks and
//     https://api.slack.com/reference/block-kit/blocks
//   - modal title, submit and close 24, private_metadata 3,000, callback_id
//     255: https://docs.slack.dev/reference/views/modal-views
//   - button text 75, value 2,000, url 3,000, action_id 255:
//     https://docs.slack.dev/reference/block-kit/block-elements/button-element
//   - checkboxes 10 options:
//     https://docs.slack.dev/reference/block-kit/block-elements/checkboxes-element
//   - option text and description 75, value 150:
//     https://docs.slack.dev/reference/block-kit/composition-objects/option-object
//   - plain_text_input max_length 1–3,000, min_length 0–3,000, placeholder
//     150: https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element
//   - confirm dialog title 100, text 300, confirm and deny 30:
//     https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object
//   - total text of a message's blocks: undocumented; Slack answers
//     msg_blocks_too_long from about 13,000 characters, lower with more
//     blocks (https://github.com/slackapi/bolt-js/issues/2509), so the fake
//     refuses past 12,000.
//   - message text 40,000 (msg_too_long):
//     https://docs.slack.dev/reference/methods/chat.postMessage
type Limits struct {
	MessageBlocks int
	ViewBlocks    int
	// MessageText caps the text of all a message's blocks together.
	MessageText int
	// FallbackText caps a message's top-level text.
	FallbackText int
	// HistoryPage caps a conversations.history page; HistoryPage when 0.
	HistoryPage int
}

// SlackLimits are Slack's.
var SlackLimits = Limits{MessageBlocks: 50, ViewBlocks: 100, MessageText: 12000, FallbackText: 40000}

// Refusal is Slack's answer to content it will not take: its error code and
// what Slack (or the fake, more precisely) says is wrong.
type Refusal struct {
	Method string
	Code   string
	Detail string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Detail }

// Message checks a message as chat.postMessage and chat.update take it:
// its fallback text and its blocks as JSON.
func (l Limits) Message(text string, blocks json.RawMessage) error {
	var bs []map[string]any
	if len(blocks) > 0 {
		if err := json.Unmarshal(blocks, &bs); err != nil {
			return &Refusal{Code: "invalid_blocks_format", Detail: err.Error()}
		}
	}
	if text == "" && len(bs) == 0 {
		return &Refusal{Code: "no_text", Detail: "neither text nor blocks"}
	}
	if n := utf8.RuneCountInString(text); n > l.FallbackText {
		return &Refusal{Code: "msg_too_long", Detail: fmt.Sprintf("text of %d characters, more than %d", n, l.FallbackText)}
	}
	if len(bs) > l.MessageBlocks {
		return &Refusal{Code: "invalid_blocks", Detail: fmt.Sprintf("%d blocks, more than %d", len(bs), l.MessageBlocks)}
	}
	if err := checkBlocks(bs, "blocks"); err != nil {
		return &Refusal{Code: "invalid_blocks", Detail: err.Error()}
	}
	if n := textLength(bs); n > l.MessageText {
		return &Refusal{Code: "msg_blocks_too_long", Detail: fmt.Sprintf("blocks hold %d characters of text, more than %d", n, l.MessageText)}
	}
	return nil
}

// View checks a modal as views.open takes it. Slack answers
// invalid_arguments for a view it will not take.
func (l Limits) View(view json.RawMessage) error {
	var v struct {
		Type            string           `json:"type"`
		Title           *textObject      `json:"title"`
		Submit          *textObject      `json:"submit"`
		Close           *textObject      `json:"close"`
		PrivateMetadata string           `json:"private_metadata"`
		CallbackID      string           `json:"callback_id"`
		Blocks          []map[string]any `json:"blocks"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		return &Refusal{Code: "invalid_arguments", Detail: err.Error()}
	}
	fail := func(format string, args ...any) error {
		return &Refusal{Code: "invalid_arguments", Detail: fmt.Sprintf(format, args...)}
	}
	if v.Type != "modal" {
		return fail("view type %q is not modal", v.Type)
	}
	if v.Title == nil {
		return fail("a modal needs a title")
	}
	for name, t := range map[string]*textObject{"title": v.Title, "submit": v.Submit, "close": v.Close} {
		if t == nil {
			continue
		}
		if err := t.check("view/"+name, 24, true); err != nil {
			return fail("%v", err)
		}
	}
	if n := utf8.RuneCountInString(v.PrivateMetadata); n > 3000 {
		return fail("private_metadata of %d characters, more than 3000", n)
	}
	if n := utf8.RuneCountInString(v.CallbackID); n > 255 {
		return fail("callback_id of %d characters, more than 255", n)
	}
	if len(v.Blocks) > l.ViewBlocks {
		return fail("%d blocks, more than %d", len(v.Blocks), l.ViewBlocks)
	}
	if err := checkBlocks(v.Blocks, "view/blocks"); err != nil {
		return fail("%v", err)
	}
	return nil
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (t textObject) check(at string, max int, plainOnly bool) error {
	if t.Type != "plain_text" && t.Type != "mrkdwn" {
		return fmt.Errorf("%s: text type %q", at, t.Type)
	}
	if plainOnly && t.Type != "plain_text" {
		return fmt.Errorf("%s: must be plain_text", at)
	}
	n := utf8.RuneCountInString(t.Text)
	if n == 0 {
		return fmt.Errorf("%s: empty text", at)
	}
	if n > max {
		return fmt.Errorf("%s: text of %d characters, more than %d", at, n, max)
	}
	return nil
}

// field reads an optional text object out of a decoded block or element.
func field(m map[string]any, key string) (*textObject, error) {
	raw, ok := m[key]
	if !ok || raw == nil {
		return nil, nil
	}
	b, _ := json.Marshal(raw)
	var t textObject
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s is not a text object", key)
	}
	return &t, nil
}

func checkText(m map[string]any, at, key string, max int, plainOnly, required bool) error {
	t, err := field(m, key)
	if err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	if t == nil {
		if required {
			return fmt.Errorf("%s: %s is required", at, key)
		}
		return nil
	}
	return t.check(at+"/"+key, max, plainOnly)
}

func checkString(m map[string]any, at, key string, max int) error {
	s, _ := m[key].(string)
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Errorf("%s/%s: %d characters, more than %d", at, key, n, max)
	}
	return nil
}

func list(m map[string]any, key string) []map[string]any {
	raw, _ := m[key].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, e := range raw {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

func checkBlocks(bs []map[string]any, at string) error {
	ids := map[string]bool{}
	for i, b := range bs {
		here := fmt.Sprintf("%s/%d", at, i)
		if id, _ := b["block_id"].(string); id != "" {
			if ids[id] {
				return fmt.Errorf("%s: block_id %q repeated", here, id)
			}
			ids[id] = true
		}
		if err := checkString(b, here, "block_id", 255); err != nil {
			return err
		}
		if err := checkBlock(b, here); err != nil {
			return err
		}
	}
	return nil
}

func checkBlock(b map[string]any, at string) error {
	typ, _ := b["type"].(string)
	switch typ {
	case "section":
		fields := list(b, "fields")
		if _, ok := b["text"]; !ok && len(fields) == 0 {
			return fmt.Errorf("%s: a section needs text or fields", at)
		}
		if err := checkText(b, at, "text", 3000, false, false); err != nil {
			return err
		}
		if len(fields) > 10 {
			return fmt.Errorf("%s: %d fields, more than 10", at, len(fields))
		}
		for i, f := range fields {
			b, _ := json.Marshal(f)
			var t textObject
			_ = json.Unmarshal(b, &t)
			if err := t.check(fmt.Sprintf("%s/fields/%d", at, i), 2000, false); err != nil {
				return err
			}
		}
		if acc, ok := b["accessory"].(map[string]any); ok {
			return checkElement(acc, at+"/accessory")
		}
	case "header":
		return checkText(b, at, "text", 150, true, true)
	case "context":
		els := list(b, "elements")
		if len(els) == 0 || len(els) > 10 {
			return fmt.Errorf("%s: %d elements; a context takes 1 to 10", at, len(els))
		}
		for i, e := range els {
			b, _ := json.Marshal(e)
			var t textObject
			_ = json.Unmarshal(b, &t)
			if t.Type == "image" {
				continue
			}
			if err := t.check(fmt.Sprintf("%s/elements/%d", at, i), 3000, false); err != nil {
				return err
			}
		}
	case "actions":
		els := list(b, "elements")
		if len(els) == 0 || len(els) > 25 {
			return fmt.Errorf("%s: %d elements; actions take 1 to 25", at, len(els))
		}
		for i, e := range els {
			if err := checkElement(e, fmt.Sprintf("%s/elements/%d", at, i)); err != nil {
				return err
			}
		}
	case "input":
		if err := checkText(b, at, "label", 2000, true, true); err != nil {
			return err
		}
		if err := checkText(b, at, "hint", 2000, true, false); err != nil {
			return err
		}
		el, ok := b["element"].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: an input needs an element", at)
		}
		return checkElement(el, at+"/element")
	case "divider":
	default:
		return fmt.Errorf("%s: block type %q is not one dealflow's fake knows", at, typ)
	}
	return nil
}

func checkElement(e map[string]any, at string) error {
	if err := checkString(e, at, "action_id", 255); err != nil {
		return err
	}
	if err := checkText(e, at, "placeholder", 150, true, false); err != nil {
		return err
	}
	typ, _ := e["type"].(string)
	switch typ {
	case "button":
		if err := checkText(e, at, "text", 75, true, true); err != nil {
			return err
		}
		if err := checkString(e, at, "value", 2000); err != nil {
			return err
		}
		if err := checkString(e, at, "url", 3000); err != nil {
			return err
		}
		if c, ok := e["confirm"].(map[string]any); ok {
			for _, f := range []struct {
				key   string
				max   int
				plain bool
			}{{"title", 100, true}, {"text", 300, false}, {"confirm", 30, true}, {"deny", 30, true}} {
				if err := checkText(c, at+"/confirm", f.key, f.max, f.plain, f.key != "deny"); err != nil {
					return err
				}
			}
		}
	case "checkboxes", "radio_buttons", "static_select", "multi_static_select", "overflow":
		opts := list(e, "options")
		max := 10
		if strings.HasSuffix(typ, "static_select") {
			max = 100
		}
		if len(opts) == 0 || len(opts) > max {
			return fmt.Errorf("%s: %d options; %s takes 1 to %d", at, len(opts), typ, max)
		}
		for i, o := range opts {
			here := fmt.Sprintf("%s/options/%d", at, i)
			if err := checkText(o, here, "text", 75, false, true); err != nil {
				return err
			}
			if err := checkText(o, here, "description", 75, false, false); err != nil {
				return err
			}
			if err := checkString(o, here, "value", 150); err != nil {
				return err
			}
		}
	case "plain_text_input":
		if v, ok := e["max_length"].(float64); ok && (v < 1 || v > 3000) {
			return fmt.Errorf("%s: max_length %v; Slack takes 1 to 3000", at, v)
		}
		if v, ok := e["min_length"].(float64); ok && (v < 0 || v > 3000) {
			return fmt.Errorf("%s: min_length %v; Slack takes 0 to 3000", at, v)
		}
	case "url_text_input", "datepicker", "users_select":
	default:
		return fmt.Errorf("%s: element type %q is not one dealflow's fake knows", at, typ)
	}
	return nil
}

// textLength counts the characters of every text in blocks, which is what
// Slack's msg_blocks_too_long appears to weigh.
func textLength(bs []map[string]any) int {
	n := 0
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if t, ok := x["text"].(string); ok {
				n += utf8.RuneCountInString(t)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, b := range bs {
		walk(b)
	}
	return n
}

// BrokenMarkup names the first place in mrkdwn text where a link, mention
// or date (<…>) or an escape (&amp; &lt; &gt;) is cut or left open, which
// Slack shows as garbage rather than refusing. Empty when there is none.
func BrokenMarkup(text string) string {
	open := -1
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '<':
			if open >= 0 {
				return fmt.Sprintf("a < at %d inside the <…> opened at %d", i, open)
			}
			open = i
		case '>':
			if open < 0 {
				return fmt.Sprintf("a bare > at %d", i)
			}
			open = -1
		case '&':
			if open >= 0 {
				// A link's URL carries its own & as they are.
				continue
			}
			rest := text[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				return fmt.Sprintf("a bare or cut & at %d: %q", i, rest[:min(len(rest), 8)])
			}
		}
	}
	if open >= 0 {
		return fmt.Sprintf("the <…> opened at %d is never closed: %q", open, text[open:min(len(text), open+40)])
	}
	return ""
}

// MrkdwnTexts lists the mrkdwn texts of blocks (sections, fields, context
// elements), the ones whose markup Slack interprets.
func MrkdwnTexts(blocks json.RawMessage) []string {
	var v any
	_ = json.Unmarshal(blocks, &v)
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "mrkdwn" {
				if t, ok := x["text"].(string); ok {
					out = append(out, t)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
