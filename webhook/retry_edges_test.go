package webhook

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A receiver down for hours: after hundreds of failures in a row the
// wait is still uniform up to 5 min (docs/events.md: a uniform wait in
// [1 s, min(5 min, 1 s × 2^n)]), not stuck at 1 s by a doubling that
// overflowed. A mutation audit found the loop's stop at the ceiling
// removable with every test passing (the tests went to 20 failures).
func TestBackoffAfterHundredsOfFailuresStillReachesTheCeiling(t *testing.T) {
	base, ceil := time.Second, 5*time.Minute
	for _, n := range []int{63, 64, 100, 1000} {
		var most time.Duration
		for range 200 {
			d := backoff(n, base, ceil)
			require.GreaterOrEqual(t, d, base, "failure %d", n)
			require.LessOrEqual(t, d, ceil, "failure %d", n)
			most = max(most, d)
		}
		assert.Greater(t, most, ceil/2, "failure %d: the waits spread up to 5 min", n)
	}
}

// A Retry-After of exactly the backoff's first step (1 s) is waited out
// as given; only one under it counts as none; one past an hour waits an
// hour (docs/events.md). A mutation audit found the 1 s boundary and the
// hour each changeable with every test passing.
func TestRetryAfterAtTheFirstStepAndPastAnHour(t *testing.T) {
	now := time.Now()
	h := http.Header{"Retry-After": {"1"}}
	for range 50 {
		require.Equal(t, time.Second, retryWait(3, http.StatusServiceUnavailable, h, time.Second, 5*time.Minute, now),
			"Retry-After: 1 is the first step itself: waited out as given")
	}
	long := http.Header{"Retry-After": {"3601"}}
	assert.Equal(t, time.Hour, retryWait(1, http.StatusTooManyRequests, long, time.Second, 5*time.Minute, now))
}
