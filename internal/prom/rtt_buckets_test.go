package prom

import (
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The bounds resolve a 10% difference where tails live, judge issue 17's
// absolute targets exactly, and reach the keep-alive timeout.
func TestKeepAliveRTTBucketsResolveTenPercent(t *testing.T) {
	b := KeepAliveRTTBuckets
	require.True(t, slices.IsSorted(b))
	assert.Equal(t, len(b), len(slices.Compact(slices.Clone(b))), "no bound twice")
	assert.Contains(t, b, 0.002, "p99 ≤ 2 ms is a bound")
	assert.Contains(t, b, 0.01, "p999 ≤ 10 ms is a bound")
	assert.InDelta(t, 10, b[len(b)-1], 0, "the last bound is the default keep-alive timeout")
	assert.LessOrEqual(t, b[0], 0.0001)

	var fine int
	for i := 1; i < len(b); i++ {
		if b[i] <= RTTFineFrom || b[i-1] >= RTTFineTo {
			continue
		}
		fine++
		assert.LessOrEqual(t, b[i]/b[i-1], RTTStep, "%g after %g", b[i], b[i-1])
	}
	assert.GreaterOrEqual(t, fine, 75, "0.5–30 ms is covered in fine steps")
	assert.LessOrEqual(t, len(b), 100, "few steps outside the fine range")
}

// Every bound prints as three digits at most, as /metrics shows it.
func TestKeepAliveRTTBucketsPrintShort(t *testing.T) {
	for _, v := range KeepAliveRTTBuckets {
		s := strconv.FormatFloat(v, 'e', -1, 64)
		assert.LessOrEqual(t, len(s), len("1.23e-03"), s)
	}
}
