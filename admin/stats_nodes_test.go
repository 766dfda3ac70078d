package admin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A node's series in the nodes list keeps a point a minute, its newest
// always: the line ends where the node's samples do.
func TestThinnedKeepsAPointAMinuteEndingOnTheNewest(t *testing.T) {
	points := func(n int) []StatsPoint {
		out := make([]StatsPoint, n)
		for i := range out {
			out[i] = StatsPoint{Time: int64(i * 5), Connected: i}
		}
		return out
	}
	times := func(ps []StatsPoint) []int64 {
		var out []int64
		for _, p := range ps {
			out = append(out, p.Time)
		}
		return out
	}
	// 5 s samples, a minute apart: every 12th, back from the newest.
	assert.Equal(t, []int64{5, 65, 125}, times(thinned(points(26), 5*time.Second, time.Minute)))
	assert.Equal(t, []int64{0, 60, 120}, times(thinned(points(25), 5*time.Second, time.Minute)))
	assert.Equal(t, []int64{0}, times(thinned(points(1), 5*time.Second, time.Minute)))
	assert.Empty(t, thinned(nil, 5*time.Second, time.Minute))
	// An hour of samples (721) is 61 points.
	assert.Len(t, thinned(points(721), 5*time.Second, time.Minute), 61)
	// Samples further apart than the step are all kept.
	assert.Len(t, thinned(points(10), 2*time.Minute, time.Minute), 10)
}
