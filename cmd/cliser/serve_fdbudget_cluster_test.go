package main

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// A cluster node at its descriptor ceiling (open-files limit 1200, the
// admin listener and the protocol connections at their caps) whose NATS
// server restarts: its connection and the event writer's own dial again,
// and the clients' disconnects reach the stream and the webhook, every
// event once, in order. The reserve covers both NATS sockets.
func TestBinaryClusterEventsAtTheDescriptorCeilingThroughANATSRestart(t *testing.T) {
	wrap := prlimitOrSkip(t)
	natsDir := t.TempDir()
	ns := testkit.NATSAt(t, natsDir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	rc := newHookReceiver(t, 0)
	p := testkit.ServeWrapped(t, wrap, []string{"CLISER_PASSWORD=fd-pw", "CLISER_ADMIN_TOKEN=", "CLISER_WEBHOOK_SECRET=" + whSecret},
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--cluster", ns.ClientURL(), "--node-id", "fd-1",
		"--keepalive-interval", "200ms", "--keepalive-timeout", "10s", "--handshake-timeout", "2m",
		"--max-handshakes-per-ip", "0", "--webhook-url", rc.srv.URL+"/hook", "--webhook-linger", "20ms")

	// A new webhook starts after the stream's newest event when it takes
	// the lease: clients that came before would not be its.
	p.WaitLog(t, 30*time.Second, "webhook: new; delivering the events after the newest one now")
	const healthy = 20
	echoers := startEchoers(t, p.Addr, healthy, "healthy")
	delivered := func(n int) func() bool {
		return func() bool { _, _, evs := rc.snapshot(); return len(evs) >= n }
	}
	require.Eventually(t, delivered(healthy), 30*time.Second, 20*time.Millisecond, "the connects delivered:\n%s", p.LogText())

	fillToTheCeiling(t, p)

	// At the ceiling, NATS goes and comes back: both connections dial anew.
	ns.Shutdown()
	ns.WaitForShutdown()
	p.WaitLog(t, 10*time.Second, "cluster: NATS connection lost")
	testkit.NATSAt(t, natsDir, port)
	p.WaitLog(t, 30*time.Second, "cluster: NATS reconnected")

	for _, e := range echoers {
		_ = e.c.Conn.Close()
	}
	require.Eventually(t, delivered(2*healthy), 60*time.Second, 20*time.Millisecond,
		"the disconnects published and delivered at the ceiling:\n%s", p.LogText())
	_, bad, evs := rc.snapshot()
	require.Zero(t, bad, "every request verified")
	for i, e := range evs {
		require.EqualValues(t, i+1, e.Seq, "every event once, in log order")
	}
	assert.NotContains(t, p.LogText(), "too many open files")
}
