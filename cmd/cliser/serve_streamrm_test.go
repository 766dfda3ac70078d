package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// `nats stream rm CLISER_EVENTS` under two running nodes with a webhook:
// the next publish makes the stream again, every node counts the new
// stream (cliser_events_stream_renewed_total) and stays ready, and the
// receiver gets the new stream from its seq 1. Before, every publish
// failed until a node restarted (/readyz 503, "no response from stream"),
// and the webhook's cursor stood past the new seqs: nothing sent, with a
// lag of 0 and no word. Then the stream is deleted while both nodes are
// stopped: the first to start makes it, and delivery starts from its seq
// 1 again.
func TestBinaryClusterEventStreamDeletedIsMadeAgainAndDelivered(t *testing.T) {
	ns := testkit.NATS(t)
	_, js := testkit.JetStream(t, ns.ClientURL())
	rc := newHookReceiver(t, 0)
	env := append(webhookEnv(), "CLISER_CLUSTER="+ns.ClientURL())
	dirs := map[string]string{"alpha": t.TempDir(), "beta": t.TempDir()}
	start := func(name string) *testkit.Served {
		return testkit.Serve(t, env, serveArgs(dirs[name], "--node-id", name, "--cluster-heartbeat", "2s",
			"--webhook-url", rc.srv.URL+"/hook", "--webhook-linger", "20ms")...)
	}
	got := func(n int) []string {
		var out []string
		require.Eventually(t, func() bool { _, _, evs := rc.snapshot(); return len(evs) >= n }, 20*time.Second, 20*time.Millisecond,
			"%d events delivered", n)
		_, bad, evs := rc.snapshot()
		require.Zero(t, bad)
		for _, e := range evs {
			out = append(out, fmt.Sprintf("%d:%s:%s", e.Seq, e.Type, e.CID))
		}
		return out
	}
	a, b := start("alpha"), start("beta")
	for i := range 3 {
		opsConnect(t, a.Addr, opsPassword, fmt.Sprintf("one-%d", i))
	}
	require.Len(t, got(3), 3)

	require.NoError(t, js.DeleteStream(t.Context(), events.DefaultStreamName))
	for i := range 2 {
		opsConnect(t, b.Addr, opsPassword, fmt.Sprintf("two-%d", i))
	}
	require.Equal(t, []string{
		"1:client.connected:one-0", "2:client.connected:one-1", "3:client.connected:one-2",
		"1:client.connected:two-0", "2:client.connected:two-1",
	}, got(5), "the new stream from its seq 1")
	for _, p := range []*testkit.Served{a, b} {
		base := p.AdminURL(t)
		code, body := testkit.HTTPGet(t, base+"/readyz")
		assert.Equal(t, 200, code, body)
		n, _ := testkit.Metric(base, events.MetricRenewed)
		assert.EqualValues(t, 1, n, "each node found the stream made anew")
	}
	assert.Equal(t, 1, strings.Count(b.LogText(), "made it again as it was"), "beta made it again, and said so once")

	require.Equal(t, 0, a.Stop(t))
	require.Equal(t, 0, b.Stop(t))
	require.NoError(t, js.DeleteStream(t.Context(), events.DefaultStreamName))
	a = start("alpha")
	opsConnect(t, a.Addr, opsPassword, "three-0")
	require.Eventually(t, func() bool {
		_, _, evs := rc.snapshot()
		return evs[len(evs)-1].CID == "three-0"
	}, 20*time.Second, 20*time.Millisecond, "three-0 delivered")
	evs := got(6)
	assert.Equal(t, "1:client.connected:three-0", evs[len(evs)-1], "the stream made at the start, from its seq 1: %v", evs)
}
