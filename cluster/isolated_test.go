package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
)

// A cut between NATS servers leaves one server alone: its routes to both
// peers are cut, its clients stay connected and it answers their PINGs,
// but without a quorum it stores nothing, while the other two go on. The
// node on it must move to a server of the majority before its heartbeat
// lapses: none of its live clients is marked "node lost", its new
// clients are listed on every node.
func TestNodeLeavesAnIsolatedNATSServer(t *testing.T) {
	t.Parallel()
	// cutTTL is this test's heartbeat TTL: a cut and its heal set off Raft
	// elections among the servers, which under load outlasted a 3 s TTL
	// (once in four runs another node's heartbeat aged out during the
	// heal, and it was marked lost); the default is 10 s.
	const cutTTL = 6 * time.Second
	nc, f := startCutFleet(t, cutTTL)
	urls := nc.URLs()
	// Cut off a server that does not lead the heartbeats' stream, so that
	// the majority need not elect a leader for it (a Raft timeout, seconds,
	// during which nobody's beat is stored): node i prefers server i.
	s := (nc.StreamLeader(r3Streams[1]) + 1) % 3
	victim := f.nodes[s]
	beats := watchBeats(t, urls[(s+1)%3], victim.id)
	reconnects := victim.nc.Stats().Reconnects

	nc.Isolate(s, true)
	cut := time.Now()
	require.Eventually(t, func() bool { return victim.nc.Stats().Reconnects > reconnects && victim.nc.IsConnected() },
		cutTTL, 5*time.Millisecond, "%s left the isolated server within a heartbeat TTL", victim.id)
	t.Logf("%s on %s %s after the cut", victim.id, victim.nc.ConnectedUrl(), time.Since(cut))
	require.NotEqual(t, urls[s], victim.nc.ConnectedUrl())

	f.registerEverywhere(t, "after-cut")
	beats.awaitRenewals(t, cut, 2*cutTTL)
	f.assertNoneLost(t)
	assert.Equal(t, 1.0, victim.metric(t, cluster.MetricClusterLeftCutOff, ""))
	nc.Isolate(s, false)
	nc.WaitCurrent(r3Streams...)
	f.ready.assertAlways200(t)
	f.assertEventLog(t)
}
