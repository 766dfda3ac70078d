package reactor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIdleTickerSleepsUntilSomethingIsDue: while no wheel has anything
// due, the ticker sleeps up to idleTick, not a tick (an empty server's
// ticker woke a thousand times a second at 1ms), and never past the first
// tick that may hold a session.
func TestIdleTickerSleepsUntilSomethingIsDue(t *testing.T) {
	srv := startServer(t, WithTick(time.Millisecond), WithKeepAlive(time.Second, 5*time.Second),
		WithHandshakeTimeout(3*time.Second))
	h := &handler{Server: srv.Server}
	now := func() int64 { return int64(time.Since(srv.epoch)) }
	idle := srv.opts.idleTick()
	require.Equal(t, 100*time.Millisecond, idle, "a tenth of the shortest duration (1s)")
	// A loop's wheel tells the ticker where its first session is after its
	// first walk, which the first wake asks for.
	idles := func() bool { return h.wake(now()) == idle }
	eventually(t, idles, "the empty server's ticker sleeps idleTick")

	c := srv.connect(t, "c1") // due a keep-alive interval on
	eventually(t, idles, "the ticker sleeps idleTick while the keep-alive is a second away")
	soonest := func() int64 {
		at := int64(1 << 62)
		for _, lp := range srv.loopList() {
			at = min(at, lp.wheel.soonestAt())
		}
		return at
	}
	shorter := false
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && !shorter; {
		n := now()
		sleep, first := h.wake(n), soonest()
		require.LessOrEqual(t, sleep, idle)
		if sleep > srv.opts.tick {
			require.LessOrEqual(t, n+int64(sleep), first, "slept past the first tick that may hold a session")
		}
		shorter = sleep < idle
	}
	require.True(t, shorter, "the keep-alive due within idleTick shortens the sleep")
	c.EchoKeepAlive() // and it goes out
}
