package reactor

import (
	"sync"

	"github.com/cliser/cliser/protocol"
)

// ipGuard enforces the per-IP limits, shared by all loops: a ban after
// too many authentication failures in a window, and a cap on connections
// of one IP still in their handshake (so one address cannot hold the
// connection ceiling with half-open handshakes). Safe for concurrent use;
// each call holds the lock for one map operation.
type ipGuard struct {
	failLimit  int   // failures that trigger a ban; 0 disables
	window     int64 // ns: failures count within it, and a ban lasts it
	maxPending int   // handshakes in progress per IP; 0 disables

	mu  sync.Mutex
	ips map[string]*ipState
}

type ipState struct {
	pending     int
	failures    int
	windowStart int64
	bannedUntil int64
}

func newIPGuard(failLimit int, window int64, maxPending int) *ipGuard {
	return &ipGuard{failLimit: failLimit, window: window, maxPending: maxPending, ips: make(map[string]*ipState)}
}

func (g *ipGuard) enabled() bool { return g.failLimit > 0 || g.maxPending > 0 }

// admit counts a new handshake from ip, or says why it is refused.
func (g *ipGuard) admit(ip string, now int64) protocol.Reason {
	if !g.enabled() {
		return protocol.ReasonNone
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.stateLocked(ip)
	switch {
	case now < st.bannedUntil:
		return protocol.ReasonTooManyAttempts
	case g.maxPending > 0 && st.pending >= g.maxPending:
		return protocol.ReasonServerFull
	}
	st.pending++
	return protocol.ReasonNone
}

// stateLocked returns ip's entry, made on first use. g.mu is held.
func (g *ipGuard) stateLocked(ip string) *ipState {
	st := g.ips[ip]
	if st == nil {
		st = &ipState{}
		g.ips[ip] = st
	}
	return st
}

// done ends a handshake admit counted (registered or closed).
func (g *ipGuard) done(ip string, now int64) {
	if !g.enabled() {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.ips[ip]; st != nil {
		st.pending--
		g.forgetLocked(ip, st, now)
	}
}

// failed records an authentication failure from ip.
func (g *ipGuard) failed(ip string, now int64) {
	if g.failLimit <= 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.stateLocked(ip)
	if now-st.windowStart > g.window {
		st.failures, st.windowStart = 0, now
	}
	st.failures++
	if st.failures >= g.failLimit {
		st.bannedUntil = now + g.window
	}
}

// prune drops entries with nothing left to remember; the ticker calls it
// now and then so that addresses never seen again do not pile up.
func (g *ipGuard) prune(now int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for ip, st := range g.ips {
		g.forgetLocked(ip, st, now)
	}
}

func (g *ipGuard) forgetLocked(ip string, st *ipState, now int64) {
	if st.pending <= 0 && now >= st.bannedUntil && now-st.windowStart > g.window {
		delete(g.ips, ip)
	}
}
