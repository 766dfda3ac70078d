package reactor

import (
	"maps"
	"math"
	"sync"
	"sync/atomic"

	"github.com/cliser/cliser/internal/ipkey"
	"github.com/cliser/cliser/protocol"
)

// ipGuard enforces the per-IP limits, shared by all loops: a ban after
// too many authentication failures in a window, and a cap on connections
// of one IP still in their handshake (so one address cannot hold the
// connection ceiling with half-open handshakes). An IPv6 client counts by
// its network of v6Bits (key). Safe for concurrent use.
//
// A handshake's admit and done take no lock: each loop keeps a pointer to
// its address's entry (peer.guard) and changes the entry's count with
// atomics. Only prune deletes an entry, under the lock, and first marks
// its count dead with a CAS from zero: an admit's CAS from a live count
// and prune's from zero cannot both win, so no admit is counted in an
// entry that is gone, and a loop whose entry died fetches the live one
// under the lock. The failures and the ban are written under the lock,
// rarely; admit reads the ban without it.
type ipGuard struct {
	failLimit  int   // failures that trigger a ban; 0 disables
	window     int64 // ns: failures count within it, and a ban lasts it
	maxPending int   // handshakes in progress per IP; 0 disables
	v6Bits     int   // an IPv6 address counts as its network of this many bits

	mu      sync.Mutex
	ips     map[string]*ipState
	pruneAt int // entries at which a new one prunes first (growth bounds the map)
	peak    int // most entries since ips was made: a Go map keeps its peak's room
}

type ipState struct {
	pending     atomic.Int32 // handshakes in progress; deadCount once pruned
	bannedUntil atomic.Int64 // written under mu
	failures    int          // under mu
	windowStart int64        // under mu
}

// deadCount marks an entry prune took out of the map: no count is ever
// added to it again.
const deadCount = math.MinInt32

// minPruneAt is the fewest entries at which a new entry prunes first.
const minPruneAt = 1024

func newIPGuard(failLimit int, window int64, maxPending, v6Bits int) *ipGuard {
	return &ipGuard{failLimit: failLimit, window: window, maxPending: maxPending, v6Bits: v6Bits,
		ips: make(map[string]*ipState), pruneAt: minPruneAt}
}

// key is what the limits count ip (a cip) as (ipkey.Of): an IPv6 client
// its network of v6Bits, shared with the admin API's wrong-token limit.
func (g *ipGuard) key(ip string) string { return ipkey.Of(ip, g.v6Bits) }

func (g *ipGuard) enabled() bool { return g.failLimit > 0 || g.maxPending > 0 }

// admit counts a new handshake from p, or says why it is refused. It runs
// on p's loop: p.guard is that loop's.
func (g *ipGuard) admit(p *peer, now int64) protocol.Reason {
	if !g.enabled() {
		return protocol.ReasonNone
	}
	for {
		st := p.guard
		if st == nil {
			st = g.entry(g.key(p.ip), now)
			p.guard = st
		}
		n := st.pending.Load()
		switch {
		case n < 0: // pruned: the address's live entry is another
			p.guard = nil
			continue
		case now < st.bannedUntil.Load():
			return protocol.ReasonTooManyAttempts
		case g.maxPending > 0 && int(n) >= g.maxPending:
			return protocol.ReasonServerFull
		}
		if st.pending.CompareAndSwap(n, n+1) {
			return protocol.ReasonNone
		}
	}
}

// done ends a handshake admit counted (registered or closed), on p's
// loop. The entry admit counted in is still p.guard: an entry holding a
// count is never pruned, so the loop never replaced it.
func (g *ipGuard) done(p *peer) {
	if g.enabled() {
		p.guard.pending.Add(-1)
	}
}

// refused reports whether p's address is refused now for its wrong
// passwords, on p's loop. Asked of a handshake admit counted: its entry,
// p.guard, is live while it holds that count. A connection accepted
// before the refusal would otherwise have its answer checked all the
// same, and an address could open its --max-handshakes-per-ip handshakes
// first and have that many guesses checked a window, the right one let in.
func (g *ipGuard) refused(p *peer, now int64) bool {
	st := p.guard
	return g.failLimit > 0 && st != nil && now < st.bannedUntil.Load()
}

// entry is ip's live entry, made on first use.
func (g *ipGuard) entry(ip string, now int64) *ipState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stateLocked(ip, now)
}

// stateLocked returns ip's entry, made on first use. g.mu is held. Since
// a handshake's end deletes nothing, a new entry prunes first once the map
// has doubled since the last prune: many addresses cost what they hold.
func (g *ipGuard) stateLocked(ip string, now int64) *ipState {
	st := g.ips[ip]
	if st == nil {
		if len(g.ips) >= g.pruneAt {
			g.pruneLocked(now)
			g.pruneAt = max(minPruneAt, 2*len(g.ips))
		}
		st = &ipState{}
		g.ips[ip] = st
		g.peak = max(g.peak, len(g.ips))
	}
	return st
}

// failed records an authentication failure from ip, and reports whether
// it was the one that has ip refused for the window.
func (g *ipGuard) failed(ip string, now int64) bool {
	if g.failLimit <= 0 {
		return false
	}
	key := g.key(ip)
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.stateLocked(key, now)
	// The window opens at the address's first failure: an entry made by
	// its accept has windowStart 0, the server's start, and its first
	// window ended early.
	if st.failures == 0 || now-st.windowStart > g.window {
		st.failures, st.windowStart = 0, now
	}
	st.failures++
	if st.failures >= g.failLimit {
		st.bannedUntil.Store(now + g.window)
	}
	return st.failures == g.failLimit
}

// prune drops entries with nothing left to remember; the ticker calls it
// now and then so that addresses never seen again do not pile up.
func (g *ipGuard) prune(now int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pruneLocked(now)
}

// pruneLocked deletes the entries that hold no handshake, no ban and no
// failure within the window, each marked dead first. g.mu is held.
func (g *ipGuard) pruneLocked(now int64) {
	for ip, st := range g.ips {
		if now < st.bannedUntil.Load() || (st.failures > 0 && now-st.windowStart <= g.window) {
			continue
		}
		if st.pending.CompareAndSwap(0, deadCount) {
			delete(g.ips, ip)
		}
	}
	g.shrinkLocked()
}

// shrinkLocked moves the entries into a map of their size once they are a
// quarter of the peak or fewer: deletes leave a Go map its peak's room, so
// an address storm's memory would stay for the life of the process. The
// entries move as they are: loops hold pointers to them. g.mu is held.
func (g *ipGuard) shrinkLocked() {
	if g.peak < 4*minPruneAt || len(g.ips) > g.peak/4 {
		return
	}
	ips := make(map[string]*ipState, len(g.ips)) // not maps.Clone: it keeps the room
	maps.Copy(ips, g.ips)
	g.ips, g.peak = ips, len(ips)
}
