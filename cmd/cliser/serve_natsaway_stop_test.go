package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// A node stopped while NATS is away, with nothing to lose (no client, no
// queued event), stops cleanly: exit 0, within seconds. It exited 1 after
// 7 s, "cluster: remove heartbeat: context deadline exceeded" and "nats:
// connection reconnecting", so its exit status could not tell an operator
// whether events or records were lost (a stop that loses events exits 1,
// TestStreamCloseReportsEventsLostToNATSAway).
func TestBinaryStopWhileNATSIsAwayLosingNothingExitsZero(t *testing.T) {
	ns := testkit.NATS(t)
	p := serveNode(t, []string{"CLISER_PASSWORD=cl-away", "CLISER_ADMIN_TOKEN="}, "away-1", "--cluster", ns.ClientURL())
	base := p.AdminURL(t)
	ns.Shutdown()
	ns.WaitForShutdown()
	waitNATSGone(t, base)

	began := time.Now()
	code := p.Stop(t)
	took := time.Since(began)
	logs := p.LogText()
	assert.Equal(t, 0, code, "nothing was lost:\n%s", logs[max(0, len(logs)-1500):])
	assert.Less(t, took, 4*time.Second)
	assert.NotContains(t, logs, "stopped with errors")
	assert.Contains(t, logs, "stopped; registry written")
}

// A node stopped while NATS is away keeps the events it could not publish
// in its spill file in the data dir (before, they were lost: exit 1 and
// "are lost"), and its next start publishes them, before its own.
func TestBinaryStopWhileNATSIsAwayKeepsEventsForTheNextStart(t *testing.T) {
	natsDir, dataDir := t.TempDir(), t.TempDir()
	ns := testkit.NATSAt(t, natsDir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	env := []string{"CLISER_PASSWORD=cl-spill", "CLISER_ADMIN_TOKEN="}
	args := append(append([]string{}, clusterFlags...), "--node-id", "spill-1", "--data-dir", dataDir, "--cluster", ns.ClientURL())
	p := testkit.Serve(t, env, args...)
	base := p.AdminURL(t)
	c := opsConnect(t, p.Addr, "cl-spill", "spilled")
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/v1/events?type=client.connected")
		return strings.Contains(body, `"cid":"spilled"`)
	}, 10*time.Second, 20*time.Millisecond, "the connect published")

	ns.Shutdown()
	ns.WaitForShutdown()
	waitNATSGone(t, base)
	require.NoError(t, c.Conn.Close()) // its disconnect: an event NATS cannot take
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, "cliser_events_queued")
		return ok && n >= 1
	}, 10*time.Second, 20*time.Millisecond, "the disconnect queued")
	// Exit 1 still: the record of the disconnect was not written (a
	// record has no spill; the next start marks it `server restarted`).
	assert.Equal(t, 1, p.Stop(t))
	p.WaitLog(t, waitFor, "kept in the spill file", `"events":1`)
	assert.NotContains(t, p.LogText(), "are lost")
	assert.Contains(t, p.LogText(), `"msg":"stopped with errors","error":"registry: save`)
	spill := filepath.Join(dataDir, events.SpillFile("spill-1"))
	_, err := os.Stat(spill)
	require.NoError(t, err)

	testkit.NATSAt(t, natsDir, port)
	p2 := testkit.Serve(t, env, args...)
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, p2.AdminURL(t)+"/v1/events?type=client.disconnected&cid=spilled")
		return strings.Contains(body, `"reason":"closed by client"`)
	}, 20*time.Second, 50*time.Millisecond, "the kept disconnect published:\n%s", p2.LogText())
	require.Eventually(t, func() bool { _, err := os.Stat(spill); return os.IsNotExist(err) }, waitFor, tick, "the spill file removed")
}

// waitNATSGone waits until the node at base has seen NATS go.
func waitNATSGone(t *testing.T, base string) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/metrics")
		return strings.Contains(body, "\ncliser_cluster_nats_connected 0\n")
	}, 10*time.Second, 20*time.Millisecond, "the node never saw NATS go")
}
