package admin

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// These drive the sampler on a made-up clock: the figures of GET
// /v1/stats span a minute, 5 minutes and an hour, which a test over HTTP
// cannot wait out (stats_window_test.go does the same). Found by mutation:
// each figure below could be computed otherwise and no test failed.

// The series is the last hour, both ends included (docs/operations.md:
// "one sample every interval_seconds (5 s) for the last hour"), and no
// more however long the server runs.
func TestStatsSeriesIsTheLastHour(t *testing.T) {
	every := defaultStatsInterval
	s := newStatsSampler(func() (int, int) { return 0, 0 }, NewMetrics(registry.New()), every)
	t0 := time.Now()
	const ticks = 1000 // well over the hour's 720
	for i := 1; i <= ticks; i++ {
		s.tick(t0.Add(time.Duration(i) * every))
	}
	now := t0.Add(ticks * every)
	series := s.snapshot(now).Series
	require.Len(t, series, int(time.Hour/every)+1)
	assert.Equal(t, now.Add(-time.Hour).Unix(), series[0].Time, "the oldest point is an hour old")
	assert.Equal(t, now.Unix(), series[len(series)-1].Time)
}

// handshakes_per_second is the last minute's registrations over the
// minute they span: each sample's were made in the interval before it,
// and the rate is given to two decimals.
func TestStatsHandshakesPerSecondIsTheLastMinute(t *testing.T) {
	every := defaultStatsInterval
	m := NewMetrics(registry.New())
	s := newStatsSampler(func() (int, int) { return 0, 0 }, m, every)
	t0 := time.Now()
	const ticks = 24 // two minutes
	for i := 1; i <= ticks; i++ {
		n := 1
		if i == ticks-int(time.Minute/every) { // the oldest sample of the minute
			n = 14
		}
		for range n {
			m.Handshake(protocol.ReasonNone)
		}
		s.tick(t0.Add(time.Duration(i) * every))
	}
	// 13 samples (a minute ago up to now): 12 + 14 handshakes over the
	// 65 s from the interval before the oldest.
	got := s.snapshot(t0.Add(ticks * every)).HandshakesPerS
	assert.Equal(t, 0.4, got)
}

// disconnects and the RTT quantiles cover the last window_seconds: an end
// older than that is no longer counted; p99 is the 99th percentile.
func TestStatsDisconnectsAndRTTCoverTheWindow(t *testing.T) {
	every := defaultStatsInterval
	m := NewMetrics(registry.New())
	s := newStatsSampler(func() (int, int) { return 0, 0 }, m, every)
	t0 := time.Now()
	m.Disconnected(protocol.ReasonKicked) // in the first sample, which leaves the window
	ticks := 2 * int(5*time.Minute/every) // two windows
	for i := 1; i <= ticks; i++ {
		if i == ticks {
			m.Disconnected(protocol.ReasonKeepaliveTimeout)
			for range 45 {
				m.KeepAliveRTT(time.Millisecond)
			}
			for range 45 {
				m.KeepAliveRTT(5 * time.Millisecond)
			}
			for range 10 {
				m.KeepAliveRTT(100 * time.Millisecond)
			}
		}
		s.tick(t0.Add(time.Duration(i) * every))
	}
	st := s.snapshot(t0.Add(time.Duration(ticks) * every))
	assert.Equal(t, map[string]int{protocol.ReasonKeepaliveTimeout.String(): 1}, st.Disconnects)
	require.NotNil(t, st.RTTP50Seconds)
	require.NotNil(t, st.RTTP99Seconds)
	assert.InDelta(t, 0.005, *st.RTTP50Seconds, 0.0005, "p50 is among the middle's")
	assert.Greater(t, *st.RTTP99Seconds, 0.05, "p99 is among the slow tenth")
}

// A keep-alive RTT past the highest bucket (a --keepalive-timeout over
// 10 s) is given as that bucket's bound: JSON has no +Inf, and an
// encoder that met one answered 200 with an empty body.
func TestStatsRTTPastTheBucketsIsTheHighestBound(t *testing.T) {
	every := defaultStatsInterval
	m := NewMetrics(registry.New())
	s := newStatsSampler(func() (int, int) { return 0, 0 }, m, every)
	m.KeepAliveRTT(20 * time.Second)
	now := time.Now().Add(every)
	s.tick(now)
	st := s.snapshot(now)
	require.NotNil(t, st.RTTP99Seconds)
	assert.Equal(t, rttBuckets[len(rttBuckets)-1], *st.RTTP99Seconds)
	_, err := json.Marshal(st)
	assert.NoError(t, err)
}
