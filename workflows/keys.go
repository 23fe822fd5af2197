package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"go.temporal.io/sdk/workflow"

	"dealflow/deal"
)

// Every change a deal takes carries an idempotency key: the key field of
// its payload (deal.Envelope), set by whoever sent it (docs/idempotency.md
// says how each source makes one), or for a plain signal without one a hash
// of its content. The deal answers a key it has seen with the first answer
// and changes nothing. It remembers the recent keys itself, across
// continue-as-new (keyWindow, bounded), and PostgreSQL keeps every key it
// applied (applied_keys), which the entry points look up before sending.

// KeyedAnswer is a key the deal applied and the answer it gave.
type KeyedAnswer struct {
	Key    string      `json:"key"`
	Result deal.Result `json:"result"`
}

// The window keeps the newest keys up to maxKeyBytes (at least
// minKeysKept of them), with reasons clipped to maxKeyReason bytes, so the
// carry stays bounded whatever the deal's size.
const (
	maxKeyBytes  = 16 << 10
	minKeysKept  = 64
	maxKeyReason = 200
)

// keyWindow is the recent keys: those answered (in the carry) and those
// whose first sender still waits for the answer.
type keyWindow struct {
	answered []KeyedAnswer
	pending  map[string]*keyedWait
}

type keyedWait struct {
	done   bool
	result deal.Result
}

func (k *keyWindow) resume(carried []KeyedAnswer) { k.answered = carried }

// lookup finds a key: its answer, or the wait of a first sender still
// being answered.
func (k *keyWindow) lookup(key string) (*keyedWait, bool) {
	if p, ok := k.pending[key]; ok {
		return p, true
	}
	for i := len(k.answered) - 1; i >= 0; i-- {
		if k.answered[i].Key == key {
			return &keyedWait{done: true, result: k.answered[i].Result}, true
		}
	}
	return nil, false
}

func (k *keyWindow) start(key string) *keyedWait {
	if k.pending == nil {
		k.pending = map[string]*keyedWait{}
	}
	p := &keyedWait{}
	k.pending[key] = p
	return p
}

// finish records the answer and trims the window.
func (k *keyWindow) finish(key string, p *keyedWait, r deal.Result) {
	p.done, p.result = true, r
	delete(k.pending, key)
	if len(r.Reason) > maxKeyReason {
		r.Reason = r.Reason[:maxKeyReason]
	}
	k.answered = append(k.answered, KeyedAnswer{Key: key, Result: r})
	size := 0
	for _, a := range k.answered {
		size += len(a.Key) + len(a.Result.Reason) + 32
	}
	for size > maxKeyBytes && len(k.answered) > minKeysKept {
		size -= len(k.answered[0].Key) + len(k.answered[0].Result.Reason) + 32
		k.answered = k.answered[1:]
	}
}

// keyOf is the payload's idempotency key; for a plain signal without one,
// a hash of its name and content, so the same signal sent twice is taken
// once.
func keyOf(signal string, payload []byte, plain bool) string {
	var env struct {
		Key string `json:"key"`
	}
	if json.Unmarshal(payload, &env) == nil && env.Key != "" && deal.CheckValue(signal+".key", env.Key) == nil {
		return env.Key
	}
	if !plain {
		return ""
	}
	sum := sha256.Sum256(append([]byte(signal+"\x00"), payload...))
	return "content:" + hex.EncodeToString(sum[:16])
}

// keyed runs apply once per key: a key seen before gets the first answer
// (waiting for it if its first sender is still being answered), and a new
// key's answer is remembered and queued for PostgreSQL.
func (w *dealWorkflow) keyed(ctx workflow.Context, signal, key string, apply func() deal.Result) deal.Result {
	if key == "" {
		return apply()
	}
	if p, ok := w.keys.lookup(key); ok {
		if workflow.Await(ctx, func() bool { return p.done }) != nil {
			return deal.Result{Status: deal.Refused, Reason: "the deal's workflow was cancelled"}
		}
		return p.result
	}
	p := w.keys.start(key)
	res := apply()
	w.keys.finish(key, p, res)
	w.writes.queue(deal.Rows{Keys: []deal.AppliedKey{{Key: key, Signal: signal, Status: res.Status, Reason: res.Reason, At: workflow.Now(ctx)}}})
	return res
}
