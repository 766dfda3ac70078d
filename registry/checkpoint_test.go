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
	c := newCheckpointed(t) // the pass begins now, over n+1 records (the probe)

	// Less than a record's share of the interval (60 s / 101): a flush
	// during the touches visits none. At 1 s one was due, and a flush in
	// the middle of the loop rewrote the first record before its touch,
	// so a quarter in only 24 were seen rewritten (under load).
	touched := c.touchAll()
	rewritten := func() int { return c.rewrittenAt(touched) }
	c.clk.Advance(14500 * time.Millisecond) // 15 s of 60
	require.Eventually(t, func() bool { return rewritten() == 25 }, waitFor, tick, "a quarter in, a quarter rewritten")
	c.clk.Advance(15 * time.Second) // 30 s of 60
	require.Eventually(t, func() bool { return rewritten() == 50 }, waitFor, tick, "half in, half rewritten")
	c.clk.Advance(31 * time.Second) // past the interval: the pass ends
	require.Eventually(t, func() bool { return rewritten() == checkpointedN }, waitFor, tick, "every connected record within the interval")
}

// A flusher held up for several intervals finishes the pass in one step,
// and the next pass begins then, spread over its interval again: not
// intervals behind, so that every flush would rewrite every record until
// the passes caught up with the clock (checkpointStep's doc). Found by a
// mutation audit: with the catch-up removed, every test passed.
func TestCheckpointAfterAStallStartsItsNextPassThen(t *testing.T) {
	c := newCheckpointed(t)
	stalled := c.touchAll()
	c.clk.Advance(5 * time.Minute) // five intervals: the pass ends in one step
	require.Eventually(t, func() bool { return c.rewrittenAt(stalled) == checkpointedN }, waitFor, tick, "the held-up pass finished")

	fresh := c.touchAll()
	c.clk.Advance(5500 * time.Millisecond) // 6 s into the new pass: a tenth of it due
	require.Eventually(t, func() bool { return c.rewrittenAt(fresh) >= 5 }, waitFor, tick, "the new pass under way")
	require.NoError(t, c.r.Flush())
	assert.LessOrEqual(t, c.rewrittenAt(fresh), checkpointedN/10+1, "a tenth of the interval in, about a tenth rewritten, not all")
}

// checkpointedN is how many clients newCheckpointed connects.
const checkpointedN = 100

// checkpointed is a registry of checkpointedN connected clients, its
// store, and its checkpoint's pass of a minute begun on clk.
type checkpointed struct {
	t     *testing.T
	clk   *fakeClock
	r     *registry.Registry
	s     registry.Store
	sids  []uint16
	conns []*testConn
}

func newCheckpointed(t *testing.T) *checkpointed {
	c := &checkpointed{t: t, clk: newClock()}
	s := openStore(t, t.TempDir())
	c.s = s
	c.r = registry.New(registry.WithStore(s), registry.WithClock(c.clk.Now),
		registry.WithFlushInterval(2*time.Millisecond), registry.WithCheckpoint(time.Minute))
	for i := range checkpointedN {
		sid, conn := mustRegister(t, c.r, cidN(i))
		c.sids, c.conns = append(c.sids, sid), append(c.conns, conn)
	}
	require.NoError(t, c.r.Flush())
	startRunSynced(t, c.r, s)
	return c
}

// touchAll touches every client half a second on, less than a record's
// share of the interval, so no flush visits one meanwhile; it returns when.
func (c *checkpointed) touchAll() time.Time {
	at := c.clk.Advance(500 * time.Millisecond)
	for i, sid := range c.sids {
		c.r.Touch(sid, c.conns[i])
	}
	return at
}

// rewrittenAt is how many stored records were last seen at at.
func (c *checkpointed) rewrittenAt(at time.Time) int {
	k := 0
	for _, rec := range stored(c.t, c.s) {
		if rec.LastSeen.Equal(at) {
			k++
		}
	}
	return k
}
