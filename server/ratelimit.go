package server

import (
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

// limiter keeps one token bucket per key (a client's IP, a link's token)
// in memory. It is per worker process: behind several workers a client
// gets each worker's allowance, which still bounds guessing and floods.
// The map is bounded: past maxKeys, buckets idle for a while are dropped
// (an idle bucket is full again anyway), and if all are busy the map
// starts over rather than grow without end.
type limiter struct {
	mu      sync.Mutex
	limit   RateLimit
	buckets map[string]*bucket
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

const maxKeys = 10000

func newLimiter(l RateLimit) *limiter { return &limiter{limit: l, buckets: map[string]*bucket{}} }

// allow takes one token from key's bucket.
func (r *limiter) allow(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.buckets[key]
	if !ok {
		if len(r.buckets) >= maxKeys {
			r.sweep(now)
		}
		b = &bucket{l: rate.NewLimiter(rate.Limit(r.limit.PerMinute/60), r.limit.Burst)}
		r.buckets[key] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}

func (r *limiter) sweep(now time.Time) {
	idle := time.Duration(float64(r.limit.Burst)/r.limit.PerMinute*float64(time.Minute)) + time.Minute
	for k, b := range r.buckets {
		if now.Sub(b.seen) > idle {
			delete(r.buckets, k)
		}
	}
	if len(r.buckets) >= maxKeys {
		r.buckets = map[string]*bucket{}
	}
}
