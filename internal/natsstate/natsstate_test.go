package natsstate_test

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/natsstate"
	"github.com/cliser/cliser/internal/testkit"
)

// dial connects to url reconnecting without end, a dial timeout of
// timeout, and the handlers given.
func dial(t *testing.T, url string, timeout time.Duration, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{nats.MaxReconnects(-1),
		nats.ReconnectWait(20 * time.Millisecond), nats.Timeout(timeout)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// A server that goes away and comes back: down, then up with one
// reconnect, then closed; the handlers nc had before still run, in order.
func TestStateFollowsALostAndRegainedServer(t *testing.T) {
	dir := t.TempDir()
	ns := testkit.NATSAt(t, dir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	seen := make(chan string, 8)
	nc := dial(t, ns.ClientURL(), time.Second,
		nats.DisconnectErrHandler(func(*nats.Conn, error) { seen <- "lost" }),
		nats.ReconnectHandler(func(*nats.Conn) { seen <- "back" }),
		nats.ClosedHandler(func(*nats.Conn) { seen <- "closed" }))
	st := natsstate.Of(nc)
	require.Same(t, st, natsstate.Of(nc), "one State a connection")
	assert.True(t, st.Connected())
	assert.Equal(t, "connected", st.String())

	ns.Shutdown()
	ns.WaitForShutdown()
	require.Eventually(t, func() bool { return !st.Connected() }, 5*time.Second, time.Millisecond)
	assert.Equal(t, "reconnecting", st.String())
	assert.Zero(t, st.Reconnects())

	testkit.NATSAt(t, dir, port)
	require.Eventually(t, st.Connected, 10*time.Second, time.Millisecond)
	assert.EqualValues(t, 1, st.Reconnects())

	nc.Close()
	require.Eventually(t, st.Closed, 5*time.Second, time.Millisecond)
	assert.False(t, st.Connected())
	assert.Equal(t, "closed", st.String())
	var order []string
	for len(order) < 4 {
		order = append(order, <-seen)
	}
	assert.Equal(t, []string{"lost", "back", "lost", "closed"}, order, "a close is a disconnect too")
	assert.NotSame(t, st, natsstate.Of(nc), "a closed connection is no longer held")
	assert.True(t, natsstate.Of(nc).Closed())
}

// Against a server that accepts and never answers (frozen), nats.go
// holds the connection's lock through each connect attempt and counts
// each TCP connect as a reconnect. The State answers at once throughout
// and counts none.
func TestStateOfAFrozenServerNeitherWaitsNorCounts(t *testing.T) {
	ns := testkit.NATS(t)
	relay := testkit.StartRelay(t, ns.Addr().String())
	nc := dial(t, "nats://"+relay.Addr(), time.Second,
		nats.PingInterval(100*time.Millisecond), nats.MaxPingsOutstanding(2))
	st := natsstate.Of(nc)

	relay.SetSilent(testkit.BothWays)
	require.Eventually(t, func() bool { return !st.Connected() }, 5*time.Second, time.Millisecond)
	tcpConnects := nc.Stats().Reconnects
	slowest := time.Duration(0)
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) { // sampling, not waiting
		start := time.Now()
		require.False(t, st.Connected())
		_ = st.Reconnects()
		slowest = max(slowest, time.Since(start))
	}
	assert.Less(t, slowest, 100*time.Millisecond, "a read of the State waited")
	assert.Zero(t, st.Reconnects(), "a frozen server's accepts are no reconnects")
	assert.Greater(t, nc.Stats().Reconnects, tcpConnects, "nats.go counted its TCP connects (what the State must not)")

	relay.SetSilent(0)
	require.Eventually(t, st.Connected, 10*time.Second, time.Millisecond)
	assert.EqualValues(t, 1, st.Reconnects())
}
