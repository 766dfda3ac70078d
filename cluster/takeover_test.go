package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// The same client ID registering on two nodes at the same moment, many
// times: each time exactly one session survives, the other ends as
// replaced, and the bucket names the survivor's node (newest revision
// wins; nobody's later write undoes it).
func TestTakeoverRace(t *testing.T) {
	nodes := startNodes(t, runNATS(t), "n1", "n2")
	n1, n2 := nodes[0], nodes[1]
	const rounds = 20
	for i := range rounds {
		cid := fmt.Sprintf("race-%02d", i)
		var wg sync.WaitGroup
		conns := make([]*client.Conn, 2)
		errs := make([]error, 2)
		for j, tn := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conns[j], errs[j] = client.Dial(t.Context(), client.Config{Addr: tn.srv.Addr(), Password: testPassword, ID: cid})
			}()
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		t.Cleanup(func() { _ = conns[0].Close(context.Background()); _ = conns[1].Close(context.Background()) })
	}
	for i := range rounds {
		cid := fmt.Sprintf("race-%02d", i)
		var winner, loser *testNode
		eventually(t, func() bool {
			r1, _ := n1.reg.Get(cid)
			r2, _ := n2.reg.Get(cid)
			switch {
			case r1.CStatus && !r2.CStatus:
				winner, loser = n1, n2
			case r2.CStatus && !r1.CStatus:
				winner, loser = n2, n1
			default:
				return false
			}
			return true
		}, "%s: one session left", cid)
		r, _ := loser.reg.Get(cid)
		assert.Equal(t, protocol.ReasonReplaced, r.Reason, cid)
		require.NoError(t, n1.reg.Flush())
		require.NoError(t, n2.reg.Flush())
		eventually(t, func() bool {
			rec, ok := loser.record(t, cid)
			return ok && rec.CStatus && rec.Node == winner.id
		}, "%s: the bucket names the survivor %s", cid, winner.id)
		alive, _ := winner.reg.Get(cid)
		assert.True(t, alive.CStatus, "%s: the survivor still holds it", cid)
	}
}

// A live client wrongly marked "node lost" (its node's heartbeat was late)
// is published again by its node, and counted republished once.
func TestWrongfulNodeLostIsRepaired(t *testing.T) {
	url := runNATS(t)
	n1 := startNode(t, url, "n1")
	register(t, n1.srv.Addr(), "w-1")
	eventually(t, func() bool { return n1.listed(t, "w-1") }, "published")

	kv := clientsKV(t, url)
	overwrite(t, kv, markLost, "w-1")

	eventually(t, func() bool {
		got := bucketRecord(t, kv, "w-1")
		return got.CStatus && got.Node == "n1" && got.Reason == protocol.ReasonNone
	}, "the live session is published again")
	// Counted once, by the watch or by the write's resync, not by both.
	assert.Equal(t, 1.0, n1.metric(t, cluster.MetricClusterRepublished, ""))
}

// A second node under a live node's id is refused: it would take the
// first one's commands and fight over its records.
func TestDuplicateNodeIDRefused(t *testing.T) {
	url := runNATS(t)
	first := startNode(t, url, "n1")
	nc, _ := testkit.JetStream(t, url)
	dup, err := cluster.Join(nc, "n1", cluster.WithHeartbeatTTL(time.Second))
	require.NoError(t, err)
	assert.ErrorIs(t, dup.Start(registry.New(registry.WithStore(dup.Store())), nil), cluster.ErrNodeIDInUse)
	require.NoError(t, dup.Close())
	// The refused node left the live one's heartbeat alone.
	_, err = bucketKV(t, url, cluster.DefaultNodesBucket).Get(context.Background(), "n1")
	require.NoError(t, err, "n1's heartbeat is still there")
	register(t, first.srv.Addr(), "still-served")
}

// A node that comes back under the same id before its heartbeat aged out
// marks what its earlier run left connected "server restarted", and only
// that: another node's slot of the same number, written since, is not its.
func TestRestartMarksLeftovers(t *testing.T) {
	url := runNATS(t)
	checks := &gate{}
	checks.hold() // n2 never judges n1 lost: the marks are the restart's alone
	first, other := startNode(t, url, "n1"), startNode(t, url, "n2", cluster.WithBeforeCheck(checks.wait))
	t.Cleanup(checks.release) // before the nodes' stops, which wait for their loops
	register(t, first.srv.Addr(), "r-1")
	eventually(t, func() bool { return first.listed(t, "r-1") }, "published")
	first.crash()
	register(t, other.srv.Addr(), "r-2") // n2's slot 0, after n1's in the stream
	eventually(t, func() bool { return other.listed(t, "r-2") }, "n2's client published")

	again := startNode(t, url, "n1")
	rec2, ok := again.record(t, "r-2")
	require.True(t, ok)
	assert.True(t, rec2.CStatus, "n2's live client is left alone")
	assert.Equal(t, "n2", rec2.Node)
	rec, ok := again.record(t, "r-1")
	require.True(t, ok)
	assert.False(t, rec.CStatus)
	assert.Equal(t, protocol.ReasonServerRestarted.String(), rec.Reason)
	assert.Equal(t, "n1", rec.Node)
	assert.Equal(t, 1.0, testkit.GatheredFrom(t, again.n.Metrics().Registry(), "cliser_disconnects_total", "server restarted"),
		"the session the restart ended counts among the disconnects")
}

// NATS goes away for longer than a heartbeat TTL and comes back (same
// store): every node's heartbeat has aged out meanwhile, yet no node
// marks a live client "node lost", and the cluster works on: a new client
// is listed everywhere and a command is routed.
func TestNATSOutage(t *testing.T) {
	t.Parallel()
	ns, restartNATS := restartableNATS(t)
	url := ns.ClientURL()
	n1 := startNode(t, url, "n1")
	n2 := startNode(t, url, "n2")
	register(t, n1.srv.Addr(), "o-1")
	register(t, n2.srv.Addr(), "o-2")
	eventually(t, func() bool { return n1.listed(t, "o-2") && n2.listed(t, "o-1") }, "both listed")

	ns.Shutdown()
	ns.WaitForShutdown()
	time.Sleep(2 * time.Second) // the outage itself: longer than the 1s heartbeat TTL
	restartNATS()

	late := register(t, n2.srv.Addr(), "o-3")
	eventually(t, func() bool { return n1.listed(t, "o-3") }, "a client registered after the outage is listed on the other node")
	_, err := n1.api.Kick(context.Background(), "o-3")
	require.NoError(t, err)
	late.ExpectClosed("190 " + protocol.ReasonKicked.String())
	// Two heartbeat TTLs after NATS came back, nobody was judged lost.
	eventually(t, func() bool {
		return n1.metric(t, cluster.MetricClusterNodes, "") == 2 && n2.metric(t, cluster.MetricClusterNodes, "") == 2
	}, "both nodes see both")
	time.Sleep(2 * time.Second)
	assert.Equal(t, 0.0, n1.metric(t, cluster.MetricClusterMarkedLost, "")+n2.metric(t, cluster.MetricClusterMarkedLost, ""))
	assert.True(t, n1.listed(t, "o-1") && n1.listed(t, "o-2"), "the live clients stay connected in the list")
	n1.stop() // before the second nats-server's cleanup, which was registered after theirs
	n2.stop()
}
