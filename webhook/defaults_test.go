package webhook

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A Deliverer given no options waits, retries and times out as EVENTS.md
// says: batches of up to 100 events sent at the latest 200 ms after the
// oldest, retries with a backoff from 1 s to 5 min, a request timing out
// after 15 s. A zero or negative first step or timeout keeps the default:
// a first step of 0 would make every backoff 0 (tries without a pause),
// a timeout of 0 a request that never times out. A mutation audit (mutl)
// found each of these defaults, and both keeps, changeable with every
// test passing.
func TestDefaultsAreEventsMDs(t *testing.T) {
	o := defaultOptions()
	assert.Equal(t, 100, o.batch)
	assert.Equal(t, 200*time.Millisecond, o.linger)
	assert.Equal(t, time.Second, o.backoffMin)
	assert.Equal(t, 5*time.Minute, o.backoffMax)
	assert.Equal(t, 15*time.Second, o.timeout)

	for _, bad := range []time.Duration{0, -time.Second} {
		o := defaultOptions()
		WithBackoff(bad, time.Minute)(&o)
		WithTimeout(bad)(&o)
		assert.Equal(t, time.Second, o.backoffMin, "WithBackoff(%v, 1m)", bad)
		assert.Equal(t, time.Minute, o.backoffMax, "WithBackoff(%v, 1m)", bad)
		assert.Equal(t, 15*time.Second, o.timeout, "WithTimeout(%v)", bad)
	}
}

// A first step over the ceiling (WithBackoff(10*time.Minute, 0) leaves
// the default 5 min ceiling under it) waits the first step, every try:
// never under it, and never a panic. Kills backoff's "max(..., base)"
// dropped (rand.N of a negative span).
func TestBackoffWithAFirstStepOverTheCeilingWaitsTheFirstStep(t *testing.T) {
	o := defaultOptions()
	WithBackoff(10*time.Minute, 0)(&o)
	for n := 1; n <= 3; n++ {
		assert.Equal(t, 10*time.Minute, backoff(n, o.backoffMin, o.backoffMax), "try %d", n)
	}
}
