package prom

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A known histogram in, its quantiles out: the bucket's bound and the
// value interpolated inside it.
func TestBucketQuantile(t *testing.T) {
	le := []float64{1, 2, 4}
	cum := []float64{50, 90, 100, 100} // +Inf's count last, empty
	for _, c := range []struct{ q, upper, within float64 }{
		{0.5, 1, 1},      // the 50th of 50 in (0, 1]: its top
		{0.25, 1, 0.5},   // half way into (0, 1]
		{0.7, 2, 1.5},    // the 70th: 20 of the 40 in (1, 2]
		{0.99, 4, 3.8},   // the 99th: 9 of the 10 in (2, 4]
		{0.999, 4, 3.98}, // 9.9 of 10
		{1, 4, 4},
	} {
		u, w, ok := BucketQuantile(c.q, le, cum)
		assert.True(t, ok)
		assert.InDelta(t, c.upper, u, 1e-12, "q %v", c.q)
		assert.InDelta(t, c.within, w, 1e-12, "q %v", c.q)
	}

	u, w, ok := BucketQuantile(0.99, le, []float64{50, 90, 95, 100}) // 5 past 4
	assert.True(t, ok)
	assert.True(t, math.IsInf(u, 1) && math.IsInf(w, 1), "in +Inf's bucket")
	u, _, _ = BucketQuantile(0.99, append(le, math.Inf(1)), []float64{50, 90, 95, 100})
	assert.True(t, math.IsInf(u, 1), "le may end in +Inf")

	_, _, ok = BucketQuantile(0.5, le, []float64{0, 0, 0, 0})
	assert.False(t, ok, "nothing observed")
	_, w, ok = BucketQuantile(0, le, []float64{0, 10, 10, 10})
	assert.True(t, ok)
	assert.InDelta(t, 0, w, 0, "q 0 over an empty first bucket")
}

// On the keep-alive bounds, interpolation resolves what the bounds alone
// read as equal, and agrees with them on the absolute targets' bounds.
func TestBucketQuantileOnRTTBounds(t *testing.T) {
	le := KeepAliveRTTBuckets
	at := func(v float64) []float64 { // 1,000 echoes: 990 at 0.3 ms, 10 at v
		cum := make([]float64, len(le)+1)
		for i := range cum {
			if i == len(le) || le[i] >= 0.0003 {
				cum[i] += 990
			}
			if i == len(le) || le[i] >= v {
				cum[i] += 10
			}
		}
		return cum
	}
	// 2.05 and 2.10 ms share the bucket (2, 2.11]: the same bound, and the
	// same interpolation too (it sees counts, not values).
	u1, w1, _ := BucketQuantile(0.999, le, at(0.00205))
	u2, w2, _ := BucketQuantile(0.999, le, at(0.0021))
	assert.InDelta(t, 0.00211, u1, 1e-12)
	assert.InDelta(t, u1, u2, 0)
	assert.InDelta(t, w1, w2, 0)
	assert.Greater(t, w1, 0.002, "above the 2 ms bound, as the upper bound says")
	// 10% apart is at least one bucket apart, on either reading.
	for _, v := range []float64{0.0006, 0.002, 0.005, 0.01, 0.025} {
		ua, wa, _ := BucketQuantile(0.999, le, at(v))
		ub, wb, _ := BucketQuantile(0.999, le, at(v*1.1))
		assert.Greater(t, ub/ua, 1.04, "%v", v)
		assert.Greater(t, wb/wa, 1.04, "%v", v)
	}
}
