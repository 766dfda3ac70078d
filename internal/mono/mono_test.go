package mono

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNowIsNeverZeroAndGoesOn(t *testing.T) {
	a := Now()
	assert.NotZero(t, a, "0 is the callers' none")
	b := Now()
	assert.GreaterOrEqual(t, b, a)
	assert.GreaterOrEqual(t, Since(a), time.Duration(0))
}

func TestTimeIsNowsClock(t *testing.T) {
	before := time.Now()
	at := Now()
	after := time.Now()
	got := Time(at)
	// Within the calls' own span, give or take the rounding of one call.
	assert.False(t, got.Before(before.Add(-time.Millisecond)), "%v before %v", got, before)
	assert.False(t, got.After(after.Add(time.Millisecond)), "%v after %v", got, after)
	assert.InDelta(t, 0, time.Since(got).Seconds(), 1, "a time.Time with the monotonic reading")
}
