package admin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/registry"
)

// The sampler keeps the RTT buckets of the window's samples only (the
// quantiles read no others), and the hour's counts of every sample.
func TestStatsKeepRTTForTheWindowOnly(t *testing.T) {
	m := NewMetrics(registry.New())
	every := time.Minute
	s := newStatsSampler(func() (int, int) { return 0, 0 }, m, every)
	t0 := time.Now()
	for i := 1; i <= 30; i++ {
		m.KeepAliveRTT(time.Millisecond)
		s.tick(t0.Add(time.Duration(i) * every))
	}
	now := t0.Add(30 * every)
	var kept int
	for _, smp := range s.samples {
		if smp.rtt != nil {
			kept++
			assert.LessOrEqual(t, now.Sub(smp.at), StatsWindow)
		}
	}
	assert.Equal(t, int(StatsWindow/every)+1, kept)
	assert.Len(t, s.samples, 31, "the hour's counts stay")
	p99 := s.snapshot(now).RTTP99Seconds
	if assert.NotNil(t, p99) {
		assert.InDelta(t, 0.001, *p99, 0.0001, "the window's echoes, each 1 ms")
	}
}

// The last run's ends logged "after" this start (the clock was set back
// since) leave the window a window after the start: before, their age
// was negative, and they were counted as the last minutes' until the
// clock caught up with them, a year for a clock a year behind (clock
// audit).
func TestStatsPriorEndsFromAheadLeaveTheWindow(t *testing.T) {
	s := newStatsSampler(func() (int, int) { return 0, 0 }, NewMetrics(registry.New()), time.Minute)
	start := time.Now()
	s.seedPrior(start.Add(365*24*time.Hour), map[string]int{"server shutting down": 3})
	assert.Equal(t, map[string]int{"server shutting down": 3}, s.snapshot(start).Disconnects)
	assert.Empty(t, s.snapshot(start.Add(StatsWindow+time.Second)).Disconnects)
}
