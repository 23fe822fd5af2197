package server

import (
	"testing"
	"time"
)

func TestLimiterTakesBurstThenRefills(t *testing.T) {
	l := newLimiter(RateLimit{PerMinute: 6, Burst: 3})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if !l.allow("ip", now) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.allow("ip", now) {
		t.Fatal("a request past the burst was allowed")
	}
	if !l.allow("other", now) {
		t.Fatal("another key shares the first key's bucket")
	}
	if !l.allow("ip", now.Add(10*time.Second)) {
		t.Fatal("no token back after 10 s at 6 a minute")
	}
}

func TestLimiterStaysBounded(t *testing.T) {
	l := newLimiter(RateLimit{PerMinute: 60, Burst: 1})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxKeys + 10 {
		l.allow(string(rune(i+1000)), now)
	}
	if n := len(l.buckets); n > maxKeys {
		t.Fatalf("%d buckets kept, at most %d", n, maxKeys)
	}
}
