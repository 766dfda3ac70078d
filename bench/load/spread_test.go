package load

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Probes ramped together would measure together, a window's samples at
// one or two moments of the keep-alive cycle; spread, a window's samples
// fall over the whole cycle and stay spread across their reconnects.
func TestProbesSpreadOverTheKeepAliveCycle(t *testing.T) {
	const n, interval = 40, time.Second
	addr, _ := startReactor(t, interval)
	e := newEngine(t, Config{Addr: addr, Password: testPassword, Probes: n, KeepAlive: interval, Concurrency: 16})
	require.Empty(t, ramp(t, e, n).Errors)

	// Every probe has had its first keep-alive and is back on its slot.
	settled := func() bool {
		s := e.Counts()
		return s.KeepAlives >= n && s.ProbesPending == 0 && s.Registered == n
	}
	require.Eventually(t, settled, waitFor, pollEvery)
	before := e.Counts()
	e.SetProbing(true)
	require.Eventually(t, func() bool { return e.Counts().ProbeSamples >= before.ProbeSamples+3*n }, waitFor, pollEvery)
	e.SetProbing(false)
	require.Eventually(t, settled, waitFor, pollEvery)
	after := e.Counts()
	require.Empty(t, after.Errors)

	var bins []int64
	for i := range PhaseBins {
		bins = append(bins, after.ProbePhases[i]-before.ProbePhases[i])
	}
	total := after.ProbeSamples - before.ProbeSamples
	var sum int64
	for _, b := range bins {
		sum += b
	}
	require.Equal(t, total, sum, "every sample has a phase")
	t.Logf("samples by %s of the cycle: %v", interval/PhaseBins, bins)
	hit := len(bins) - len(slices.DeleteFunc(slices.Clone(bins), func(b int64) bool { return b > 0 }))
	assert.GreaterOrEqual(t, hit, PhaseBins*3/5, "the samples' moments by %s of the cycle: %v", interval/PhaseBins, bins)
	assert.LessOrEqual(t, slices.Max(bins)*100, total*25, "no moment holds more than a quarter of the samples: %v", bins)
}

func TestProbeSlotsAreSpreadAndReconnectsWaitForThem(t *testing.T) {
	const iv = time.Second
	e := &Engine{cfg: Config{KeepAlive: iv}}
	var bins [PhaseBins]int
	for i := range 100 {
		c := &client{e: e, idx: i, probe: true}
		s := c.slot()
		require.True(t, s >= 0 && s < iv, "slot %s", s)
		bins[int(s*PhaseBins/iv)]++
		at := time.Unix(0, int64(7*iv+s))
		assert.Zero(t, c.reconnectDelay(at), "on its slot")
		assert.Zero(t, c.reconnectDelay(at.Add(iv/slotTolerance-time.Millisecond)), "within the tolerance")
		assert.Equal(t, iv-iv/slotTolerance, c.reconnectDelay(at.Add(iv/slotTolerance)), "past it: waits for the next slot moment")
	}
	for b, k := range bins {
		assert.InDelta(t, 100/PhaseBins, k, 2, "slots in bin %d: %v", b, bins)
	}
}

// A ramp probe off its slot leaves and comes back at its first
// keep-alive: until then the fleet is not settled, so once it says
// settled every later count has every client registered (the harness
// reads its plateau's count after the wait).
func TestProbesSettledOnlyAfterTheirFirstKeepAlive(t *testing.T) {
	const n, interval = 30, 300 * time.Millisecond
	addr, _ := startReactor(t, interval)
	e := newEngine(t, Config{Addr: addr, Password: testPassword, Probes: n, KeepAlive: interval, Concurrency: 16})
	require.Empty(t, ramp(t, e, n).Errors)
	require.Positive(t, e.Counts().ProbesFresh, "ramped probes wait for their first keep-alive")

	require.Eventually(t, func() bool {
		s := e.Counts()
		return s.ProbesFresh == 0 && s.ProbesPending == 0
	}, waitFor, time.Millisecond)
	assert.GreaterOrEqual(t, e.Counts().KeepAlives, int64(n), "every probe had its first keep-alive")
	for end := time.Now().Add(2 * interval); time.Now().Before(end); {
		s := e.Counts()
		require.EqualValues(t, n, s.Registered, "after settling, %d of %d registered (%d pending)", s.Registered, n, s.ProbesPending)
	}
}
