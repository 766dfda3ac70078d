package reactor

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
)

// The tests below pin the per-IP guard's rule (docs/security.md: the
// limit-th wrong password inside the window bans the address for the
// window; --auth-fail-limit 0 is off), which a mutation audit found
// changeable with every test passing.

// Failures further apart than the window never add up to a ban.
func TestAuthFailuresAWindowApartNeverBan(t *testing.T) {
	const window = int64(time.Minute)
	g := newIPGuard(2, window, 0, DefaultIPv6GuardPrefix)
	for i := range int64(5) {
		assert.False(t, g.failed("192.0.2.7", 1+i*(window+1)), "failure %d", i)
	}
}

// The ban lasts the window from the failure that reached the limit, and
// only that failure reports the ban (the one WARN line).
func TestAuthBanLastsTheWindowAndIsReportedOnce(t *testing.T) {
	const window = int64(time.Minute)
	g := newIPGuard(2, window, 0, DefaultIPv6GuardPrefix)
	const at = int64(1000)
	assert.False(t, g.failed("192.0.2.7", at-1))
	assert.True(t, g.failed("192.0.2.7", at))
	assert.False(t, g.failed("192.0.2.7", at+1), "a failure after the ban began does not report it again")
	p := &peer{ip: "192.0.2.7"}
	assert.Equal(t, protocol.ReasonTooManyAttempts, g.admit(p, at+1+window-1))
	assert.Equal(t, protocol.ReasonNone, g.admit(p, at+1+window))
}

// With the failure limit off and the handshake cap on, wrong passwords
// refuse nothing.
func TestAuthFailLimitZeroBansNothing(t *testing.T) {
	g := newIPGuard(0, int64(time.Minute), 2, DefaultIPv6GuardPrefix)
	p := &peer{ip: "192.0.2.7"}
	for i := range int64(5) {
		require.Equal(t, protocol.ReasonNone, g.admit(p, 10*i+1), "admit %d", i) // done only after an admit
		assert.False(t, g.failed(p.ip, 10*i+2))
		g.done(p)
	}
	assert.False(t, g.refused(p, 100))
}

// A prune at the very end of an address's window keeps its failures: a
// failure then still counts in that window, as failed reads it.
func TestGuardPruneAtTheWindowsEndKeepsItsFailures(t *testing.T) {
	const window = int64(time.Minute)
	g := newIPGuard(2, window, 0, DefaultIPv6GuardPrefix)
	assert.False(t, g.failed("192.0.2.7", 1))
	g.prune(1 + window)
	assert.True(t, g.failed("192.0.2.7", 1+window))
}

// An address banned between its 110 answer and its 120 is refused at
// the 120, before its pair is checked.
func TestAddressBannedMidHandshakeIsRefusedAtTheID(t *testing.T) {
	ids := startIdentity(t)
	srv := startServer(t, WithIdentity(ids))
	c := srv.dialFrom(t, "127.0.0.31")
	c.Send("110 " + testPassword + "\n")
	c.Expect("110 password")
	c.Expect("120 id")
	_, err := ids.AddBan(t.Context(), identity.KindIP, "127.0.0.31", "", 0)
	require.NoError(t, err)
	c.Send("120 late-ban\n")
	c.ExpectClosed(closeLine(protocol.ReasonBanned))
	_, ok := srv.reg.Get("late-ban")
	assert.False(t, ok)
}

// Once an address storm's entries are pruned, the guard's map gives back
// the storm's memory: deletes leave a Go map its peak's room, and a server
// would hold it for the life of the process.
func TestGuardPruneGivesBackAStormsMemory(t *testing.T) {
	const n, window = 200_000, int64(time.Minute)
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	g := newIPGuard(2, window, 0, DefaultIPv6GuardPrefix)
	before := heap()
	for i := range n {
		g.failed(fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&0xff, i&0xff), 1)
	}
	storm := heap() - before
	g.prune(2 + window)
	require.Empty(t, g.ips)
	left := heap() - before
	runtime.KeepAlive(g)
	t.Logf("the guard held %d KiB for %d addresses; %d KiB once pruned", storm>>10, n, left>>10)
	assert.Less(t, left, storm/20, "the map kept the storm's room")

	g.failed("192.0.2.7", 3+window) // and the new map is the live one
	assert.Len(t, g.ips, 1)
}
