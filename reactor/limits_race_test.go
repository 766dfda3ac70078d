package reactor

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// The guard's admit and done take no lock; prune deletes entries under it.
// Hammered from several goroutines at once, each its own peer for one
// address as each loop has, and prune among them: the cap is
// never exceeded (an admit counted in an entry prune deleted would let a
// second entry count from zero), no count is left behind, and a ban set
// before the hammering refuses every admit of its address throughout
// (prune must not forget it).
func TestGuardHammeredWithPrune(t *testing.T) {
	const maxPending, workers, rounds = 2, 3, 50_000
	window := int64(time.Hour)
	now := 10 * window
	g := newIPGuard(2, window, maxPending, DefaultIPv6GuardPrefix)
	// Two failures half a window apart: at now the failures' window has
	// passed but the ban, counted from the second, has not.
	g.failed("10.0.0.9", now-window*5/4)
	g.failed("10.0.0.9", now-window/4)

	var inFlight, admitted, refused, over, lost atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			p, banned := &peer{ip: "10.0.0.1"}, &peer{ip: "10.0.0.9"}
			for i := range rounds {
				if r := g.admit(banned, now); r != protocol.ReasonTooManyAttempts {
					t.Errorf("the banned address admitted: %v", r)
					return
				}
				if i%8 == 0 { // a loop's names start over (cipNames): a fresh peer
					p = &peer{ip: p.ip}
				}
				if i%2 == 0 { // the ticker's prune, racing the others' admits
					g.prune(now)
				}
				if g.admit(p, now) != protocol.ReasonNone {
					refused.Add(1)
					continue
				}
				admitted.Add(1)
				if inFlight.Add(1) > maxPending || p.guard.pending.Load() > maxPending {
					over.Add(1)
				}
				if !g.live(p) {
					lost.Add(1)
				}
				runtime.Gosched() // hold the slot while others try
				inFlight.Add(-1)
				g.done(p)
			}
		})
	}
	wg.Wait()

	assert.Zero(t, over.Load(), "admits that found more than %d handshakes in progress", maxPending)
	assert.Zero(t, lost.Load(), "admits counted in an entry that is not the address's")
	require.Positive(t, admitted.Load())
	require.Positive(t, refused.Load(), "the cap was never reached: the test proves nothing")
	g.mu.Lock()
	defer g.mu.Unlock()
	for ip, st := range g.ips {
		assert.Zero(t, st.pending.Load(), "%s: handshakes left counted", ip)
	}
}

// A handshake's end deletes nothing, so a stream of distinct addresses
// must not grow the guard's map without bound before the ticker's prune.
func TestGuardMapStaysBounded(t *testing.T) {
	g := newIPGuard(DefaultAuthFailLimit, int64(time.Minute), DefaultMaxPendingPerIP, DefaultIPv6GuardPrefix)
	for i := range 10 * minPruneAt {
		p := &peer{ip: fmt.Sprintf("10.%d.%d.%d", i>>16, byte(i>>8), byte(i))}
		require.Equal(t, protocol.ReasonNone, g.admit(p, int64(time.Second)))
		g.done(p)
	}
	assert.LessOrEqual(t, len(g.ips), 2*minPruneAt)
}

// live says whether p's entry is its address's in the map: an entry that
// holds a count must be.
func (g *ipGuard) live(p *peer) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ips[p.ip] == p.guard
}

// The cap under contention: admits racing from several goroutines on one
// address never count past it (a check then an increment, not one CAS,
// would).
func TestGuardCapHammered(t *testing.T) {
	const maxPending, workers, rounds = 1, 4, 1_000_000
	g := newIPGuard(0, 0, maxPending, DefaultIPv6GuardPrefix)
	var admitted, over atomic.Int64
	start := make(chan struct{}) // all at once, not one after another
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			p := &peer{ip: "10.0.0.1"}
			<-start
			for range rounds {
				if g.admit(p, 0) != protocol.ReasonNone {
					continue
				}
				admitted.Add(1)
				if p.guard.pending.Load() > maxPending {
					over.Add(1)
				}
				g.done(p)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Positive(t, admitted.Load())
	assert.Zero(t, over.Load(), "admits that left more than %d handshakes counted", maxPending)
}
