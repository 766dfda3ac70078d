package webhook

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The options' clamps, as docs/events.md gives them: a batch of 1 to 1000
// events (--webhook-batch; serve refuses others, the package clamps them),
// backoff bounds where the largest may equal the first (the tests' fixed
// waits), and no logger given keeps the default. A mutation audit found
// each clamp removable, and MaxBatch lowerable, with every test passing.
func TestOptionsClampAsDocumented(t *testing.T) {
	o := func(opts ...Option) options {
		o := defaultOptions()
		for _, opt := range opts {
			opt(&o)
		}
		return o
	}
	for n, want := range map[int]int{-3: 1, 0: 1, 1: 1, 1000: 1000, 1001: 1000, 1 << 20: 1000} {
		assert.Equal(t, want, o(WithBatch(n)).batch, "WithBatch(%d)", n)
	}
	assert.Equal(t, 1000, MaxBatch, "docs/events.md and serve's --webhook-batch say 1 to 1000")
	step := 100 * time.Millisecond
	b := o(WithBackoff(step, step))
	assert.Equal(t, [2]time.Duration{step, step}, [2]time.Duration{b.backoffMin, b.backoffMax})
	assert.Equal(t, defaultBackoffMax, o(WithBackoff(step, step-1)).backoffMax, "a largest under the first is no bound")
	assert.NotNil(t, o(WithLogger(nil)).log)
}

// A batch size under 1 delivers, one event a request: refused by serve,
// but a Deliverer given one must not read batches of none forever.
func TestBatchUnderOneDeliversOneEventARequest(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, nil)
	r := startDeliverer(t, rc.srv.URL, l, openCursor(t, dir, rc.srv.URL), WithBatch(0), WithLinger(time.Millisecond), WithLogger(nil))
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 3)
	eventually(t, func() bool { return len(seqsOf(rc.requests(), all)) >= 3 }, "delivered")
	reqs := rc.requests()
	require.Len(t, reqs, 3)
	require.Equal(t, seqRange(1, 3), seqsOf(reqs, all))
}
