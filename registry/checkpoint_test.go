package registry_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// The checkpoint is spread over its interval: a quarter of the interval
// in, a quarter of the connected records have been rewritten, not none
// and not all (all at once, a node's every record was one flush that
// fresh registrations waited behind).
func TestCheckpointSpreadOverInterval(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(s), registry.WithClock(clk.Now),
		registry.WithFlushInterval(2*time.Millisecond), registry.WithCheckpoint(time.Minute))
	const n = 100
	type live struct {
		sid  uint16
		conn *testConn
	}
	clients := make([]live, n)
	for i := range n {
		clients[i].sid, clients[i].conn = mustRegister(t, r, cidN(i))
	}
	require.NoError(t, r.Flush())
	startRunSynced(t, r, s) // the pass begins now, over n+1 records (the probe)

	// Less than a record's share of the interval (60 s / 101): a flush
	// during the touches visits none. At 1 s one was due, and a flush in
	// the middle of the loop rewrote the first record before its touch,
	// so a quarter in only 24 were seen rewritten (under load).
	touched := clk.Advance(500 * time.Millisecond)
	for _, c := range clients {
		r.Touch(c.sid, c.conn)
	}
	rewritten := func() int {
		k := 0
		for _, rec := range stored(t, s) {
			if rec.LastSeen.Equal(touched) {
				k++
			}
		}
		return k
	}
	clk.Advance(14500 * time.Millisecond) // 15 s of 60
	require.Eventually(t, func() bool { return rewritten() == 25 }, waitFor, tick, "a quarter in, a quarter rewritten")
	clk.Advance(15 * time.Second) // 30 s of 60
	require.Eventually(t, func() bool { return rewritten() == 50 }, waitFor, tick, "half in, half rewritten")
	clk.Advance(31 * time.Second) // past the interval: the pass ends
	require.Eventually(t, func() bool { return rewritten() == n }, waitFor, tick, "every connected record within the interval")
}

// A flusher held up for several intervals finishes the pass in one step,
// and the next pass begins then, spread over its interval again: not
// intervals behind, so that every flush would rewrite every record until
// the passes caught up with the clock (checkpointStep's doc). Found by a
// mutation audit: with the catch-up removed, every test passed.
func TestCheckpointAfterAStallStartsItsNextPassThen(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(s), registry.WithClock(clk.Now),
		registry.WithFlushInterval(2*time.Millisecond), registry.WithCheckpoint(time.Minute))
	const n = 100
	type live struct {
		sid  uint16
		conn *testConn
	}
	clients := make([]live, n)
	for i := range n {
		clients[i].sid, clients[i].conn = mustRegister(t, r, cidN(i))
	}
	require.NoError(t, r.Flush())
	startRunSynced(t, r, s)
	rewrittenAt := func(at time.Time) int {
		k := 0
		for _, rec := range stored(t, s) {
			if rec.LastSeen.Equal(at) {
				k++
			}
		}
		return k
	}
	touchAll := func() time.Time {
		at := clk.Advance(500 * time.Millisecond) // less than a record's share: no flush visits one
		for _, c := range clients {
			r.Touch(c.sid, c.conn)
		}
		return at
	}

	stalled := touchAll()
	clk.Advance(5 * time.Minute) // five intervals: the pass ends in one step
	require.Eventually(t, func() bool { return rewrittenAt(stalled) == n }, waitFor, tick, "the held-up pass finished")

	fresh := touchAll()
	clk.Advance(5500 * time.Millisecond) // 6 s into the new pass: a tenth of it due
	require.Eventually(t, func() bool { return rewrittenAt(fresh) >= 5 }, waitFor, tick, "the new pass under way")
	require.NoError(t, r.Flush())
	assert.LessOrEqual(t, rewrittenAt(fresh), n/10+1, "a tenth of the interval in, about a tenth rewritten, not all")
}
