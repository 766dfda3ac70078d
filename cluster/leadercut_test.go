package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
)

// The NATS server leading the heartbeats' stream is cut off from its
// peers. Nobody's beat is stored until the other two elect a leader (a
// Raft timeout of seconds), so every node's key may age out meanwhile; a
// node judges others only a TTL after its own NATS operations succeed
// again, so no live client may be marked "node lost". The node on the cut
// server must move to the majority, at the shipped TTL.
func TestNodesKeepTheirClientsWhenTheHeartbeatsLeaderIsCutOff(t *testing.T) {
	ttl := cluster.DefaultHeartbeatTTL
	nc, f := startCutFleet(t, ttl)
	urls := nc.URLs()
	s := nc.StreamLeader(r3Streams[1])
	victim := f.nodes[s]
	reconnects := victim.nc.Stats().Reconnects
	beats := make([]*beatWatch, len(f.nodes))
	for i, tn := range f.nodes {
		beats[i] = watchBeats(t, urls[(s+1)%3], tn.id)
	}

	nc.Isolate(s, true)
	cut := time.Now()
	require.Eventually(t, func() bool { return victim.nc.Stats().Reconnects > reconnects && victim.nc.IsConnected() },
		ttl, 5*time.Millisecond, "%s left the cut-off server within a heartbeat TTL", victim.id)
	require.NotEqual(t, urls[s], victim.nc.ConnectedUrl())
	t.Logf("%s on %s %s after the cut", victim.id, victim.nc.ConnectedUrl(), time.Since(cut))

	// Every node beats again once the majority has a leader, the last
	// within a TTL of the first: a judge whose own beats failed waits a
	// TTL after they succeed again before judging.
	first := make([]time.Time, len(beats))
	var back time.Time
	for i, w := range beats {
		first[i] = w.firstRenewalAfter(t, cut, 3*ttl)
		t.Logf("%s: first beat stored %s after the cut; polls that found its key gone: %d",
			f.nodes[i].id, first[i].Sub(cut), w.missingCount())
		if first[i].After(back) {
			back = first[i]
		}
	}
	for i, at := range first {
		for j, other := range first {
			assert.Less(t, at.Sub(other), ttl, "%s beat again %s after %s", f.nodes[i].id, at.Sub(other), f.nodes[j].id)
		}
	}
	f.registerEverywhere(t, "after-cut")
	// A TTL and a check past the last node back.
	require.Never(t, func() bool {
		for _, tn := range f.nodes {
			if tn.metric(t, cluster.MetricClusterMarkedLost, "") != 0 {
				return true
			}
		}
		return false
	}, time.Until(back.Add(ttl+2*time.Second)), 100*time.Millisecond, "a node marked records lost")
	f.assertNoneLost(t)
	assert.GreaterOrEqual(t, victim.metric(t, cluster.MetricClusterLeftCutOff, ""), 1.0)
	for _, tn := range f.nodes {
		t.Logf("%s moved %v times", tn.id, tn.metric(t, cluster.MetricClusterLeftCutOff, ""))
	}
	nc.Isolate(s, false)
	nc.WaitCurrent(r3Streams...)
	f.ready.assertAlways200(t)
	f.assertEventLog(t)
}
