package server

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a token bucket: Burst requests at once, refilled at Per
// per minute.
type RateLimit struct {
	PerMinute float64
	Burst     int
}

// Default limits per client (an IPv4 address or an IPv6 /64). A person
// reading pages or a script posting files stays far below them.
var (
	DefaultPageLimit     = RateLimit{PerMinute: 300, Burst: 120}
	DefaultFinanceLimit  = RateLimit{PerMinute: 120, Burst: 60}
	DefaultAuthFailLimit = RateLimit{PerMinute: 10, Burst: 20}
)

func orDefault(l, def RateLimit) RateLimit {
	if l.PerMinute <= 0 || l.Burst <= 0 {
		return def
	}
	return l
}

// limiter keeps one token bucket per key (a client, a link's token) in
// memory. It is per worker process: behind several workers a client gets
// each worker's allowance, which still bounds guessing and floods.
// It holds at most maxKeys buckets: a new key past that evicts the bucket
// used least recently. An evicted bucket was idle longest, so it has
// refilled the most; nobody else's limit starts over.
type limiter struct {
	mu      sync.Mutex
	limit   RateLimit
	max     int
	buckets map[string]*list.Element
	lru     list.List // of *bucket, most recently used first
}

type bucket struct {
	key string
	l   *rate.Limiter
}

const maxKeys = 10000

func newLimiter(l RateLimit) *limiter {
	return &limiter{limit: l, max: maxKeys, buckets: map[string]*list.Element{}}
}

func (r *limiter) get(key string) *rate.Limiter {
	if e, ok := r.buckets[key]; ok {
		r.lru.MoveToFront(e)
		return e.Value.(*bucket).l
	}
	if len(r.buckets) >= r.max {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.buckets, old.Value.(*bucket).key)
	}
	b := &bucket{key: key, l: rate.NewLimiter(rate.Limit(r.limit.PerMinute/60), r.limit.Burst)}
	r.buckets[key] = r.lru.PushFront(b)
	return b.l
}

// allow takes one token from key's bucket.
func (r *limiter) allow(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.get(key).AllowN(now, 1)
}

// exhausted says whether key's bucket is empty, without taking a token:
// failed authentications are counted only when they happen.
func (r *limiter) exhausted(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.buckets[key]
	return ok && e.Value.(*bucket).l.TokensAt(now) < 1
}

func (r *limiter) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.buckets)
}
