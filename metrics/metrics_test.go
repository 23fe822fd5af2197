package metrics

import (
	"fmt"
	"testing"
)

// TestLabelsAreBounded: a label value that is not a short identifier, or
// one past the limit of distinct values, is counted under "other", so a
// client sending made-up signal names cannot grow the scrape without end.
func TestLabelsAreBounded(t *testing.T) {
	c := newCounter("test_total", "test", "signal")
	for _, v := range []string{"", "a b", "<script>", "naïve", string(make([]byte, 41))} {
		if got := c.bound(v); got != "other" {
			t.Errorf("bound(%q) = %q, want other", v, got)
		}
	}
	if got := c.bound("chat.postMessage"); got != "chat.postMessage" {
		t.Errorf("a Slack method name became %q", got)
	}
	for i := range maxLabelValues - 1 {
		v := fmt.Sprintf("sig_%d", i)
		if got := c.bound(v); got != v {
			t.Fatalf("bound(%q) = %q below the limit", v, got)
		}
	}
	if got := c.bound("one_too_many"); got != "other" {
		t.Errorf("past the limit bound = %q, want other", got)
	}
	if got := c.bound("sig_0"); got != "sig_0" {
		t.Errorf("a value seen before the limit became %q", got)
	}
}
