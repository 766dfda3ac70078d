package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// fullSettings are a soak's settings with every feature on and a log of
// 1,000 events, for the judge.
func fullSettings() SoakSettings {
	s := DefaultSoak()
	s.EventRetention, s.Limits = 1000, DefaultSoakLimits(2000)
	return s
}

// flatFull is a flat soak with every feature on: the log reaches its
// retention (1,000 events) at sample 10 and its file stays at 8 MiB from
// then on.
func flatFull(i int) SoakSample {
	x := SoakSample{RSSAnon: 100 << 20, Goroutines: 20, FDs: 2000, Credentials: 2000 + int64(i%3),
		WebhookLag: int64(50 + 30*(i%2)), EventsNewest: int64(100 * i), EventsBytes: 8 << 20}
	if i < 10 {
		x.EventsBytes = int64(i) << 20 // growing toward the retention: not judged
	}
	return x
}

func TestJudgeSoakFlatFeaturesPass(t *testing.T) {
	v := JudgeSoak(series(40, flatFull), fullSettings())
	assert.True(t, v.Flat, v.Reasons)
	assert.Equal(t, 30, v.EventsJudged, "of the 32 judged (from sample 8), those from sample 10 on: at retention")
	assert.Equal(t, float64(8<<20), v.EventsFirst)
}

// Each feature's figure grown alone fails the soak on its own rule.
func TestJudgeSoakGrowingFeatureFails(t *testing.T) {
	for reason, grow := range map[string]func(i int, x *SoakSample){
		"events.db grew":      func(i int, x *SoakSample) { x.EventsBytes += int64(i) << 18 },
		"webhook lag grew by": func(i int, x *SoakSample) { x.WebhookLag = int64(100 * i) },
		"credentials grew by": func(i int, x *SoakSample) { x.Credentials = int64(2000 + 10*i) },
	} {
		v := JudgeSoak(series(40, func(i int) SoakSample {
			x := flatFull(i)
			grow(i, &x)
			return x
		}), fullSettings())
		assert.False(t, v.Flat, reason)
		if assert.Len(t, v.Reasons, 1, reason) {
			assert.Contains(t, v.Reasons[0], reason)
		}
	}
}

func TestJudgeSoakEventsShortOfRetentionIsNotFlat(t *testing.T) {
	s := fullSettings()
	s.EventRetention = 100_000
	v := JudgeSoak(series(40, flatFull), s)
	assert.False(t, v.Flat)
	require.Len(t, v.Reasons, 1)
	assert.Contains(t, v.Reasons[0], "the event log reached its retention (100000 events) in 0 judged samples")
}

// A feature that is off is not judged, whatever its figures.
func TestJudgeSoakJudgesOnlyItsFeatures(t *testing.T) {
	s := fullSettings()
	s.Features = nil
	v := JudgeSoak(series(40, func(i int) SoakSample {
		return SoakSample{RSSAnon: 100 << 20, Goroutines: 20, FDs: 2000, EventsBytes: int64(i) << 20, WebhookLag: int64(100 * i), Credentials: int64(10 * i)}
	}), s)
	assert.True(t, v.Flat, v.Reasons)
	assert.Zero(t, v.EventsJudged)
}
