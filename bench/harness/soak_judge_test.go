package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func series(n int, f func(i int) SoakSample) []SoakSample {
	out := make([]SoakSample, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestJudgeFlatSeriesPasses(t *testing.T) {
	// Noise around a level, and a warm-up that climbs: the warm-up is left out.
	s := series(40, func(i int) SoakSample {
		rss := int64(100<<20 + (i%3)*(1<<20))
		if i < 8 {
			rss = int64(50<<20 + i*(5<<20))
		}
		return SoakSample{RSSAnon: rss, Goroutines: 20 + i%2, FDs: 2010 + i%4}
	})
	v := JudgeFlatness(s, DefaultSoakLimits(2000))
	assert.True(t, v.Flat, v.Reasons)
	assert.Equal(t, 32, v.Judged)
	assert.Empty(t, v.Reasons)
}

func TestJudgeGrowingRSSFails(t *testing.T) {
	s := series(40, func(i int) SoakSample {
		return SoakSample{RSSAnon: int64(100<<20 + i*(1<<20)), Goroutines: 20, FDs: 2000}
	})
	v := JudgeFlatness(s, DefaultSoakLimits(2000))
	assert.False(t, v.Flat)
	assert.Len(t, v.Reasons, 1)
	assert.Contains(t, v.Reasons[0], "anonymous RSS grew")
}

func TestJudgeGoroutineLeakFails(t *testing.T) {
	s := series(40, func(i int) SoakSample {
		return SoakSample{RSSAnon: 100 << 20, Goroutines: 20 + i, FDs: 2000}
	})
	v := JudgeFlatness(s, DefaultSoakLimits(2000))
	assert.False(t, v.Flat)
	assert.Contains(t, v.Reasons[0], "goroutines grew")
}

func TestJudgeFDLeakFails(t *testing.T) {
	s := series(40, func(i int) SoakSample {
		return SoakSample{RSSAnon: 100 << 20, Goroutines: 20, FDs: 2000 + 3*i}
	})
	v := JudgeFlatness(s, DefaultSoakLimits(2000))
	assert.False(t, v.Flat)
	assert.Contains(t, v.Reasons[0], "open fds grew")
}

func TestJudgeTooFewSamplesIsNotFlat(t *testing.T) {
	v := JudgeFlatness(series(3, func(int) SoakSample { return SoakSample{RSSAnon: 1} }), DefaultSoakLimits(10))
	assert.False(t, v.Flat)
	assert.Contains(t, v.Reasons[0], "too few samples")
}

// The file-backed part of RSS (code pages, bbolt's mapped file) is not judged.
func TestJudgeIgnoresFileBackedRSS(t *testing.T) {
	s := series(40, func(i int) SoakSample {
		return SoakSample{RSS: int64(100<<20 + i*(1<<20)), RSSAnon: 50 << 20, Goroutines: 20, FDs: 2000}
	})
	assert.True(t, JudgeFlatness(s, DefaultSoakLimits(2000)).Flat)
}
