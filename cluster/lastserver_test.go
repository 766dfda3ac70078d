package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
)

// Two of three NATS servers lost: the one left answers a dial but has no
// quorum, so every beat fails with the connection up, and a move off it
// can only come back to it. The node stops moving for a TTL after such a
// move (move.go): it must not drop its connection each beat, nor a round
// of the servers each beat. Only the cut tests took this path, and no
// assertion held its bound: dropping the TTL's wait, or counting a
// reconnect to the same server as a move, survived them.
func TestNodeOnTheLastNATSServerLeftMovesOnceATTL(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	nc := testkit.NATSClusterOf3(t)
	tn := startNodeOpts(t, strings.Join(nc.URLs(), ","), "ls-1",
		node.WithClusterReplicas(3), node.WithClusterHeartbeat(ttl),
		node.WithNATSOptions(nats.DontRandomize(), nats.ReconnectWait(50*time.Millisecond)))
	nc.WaitCurrent(r3Streams[:2]...) // the buckets' streams
	require.Equal(t, nc.URLs()[0], tn.nc.ConnectedUrl(), "on the first server given")
	moves := func() float64 { return tn.metric(t, cluster.MetricClusterLeftCutOff, "") }
	require.Zero(t, moves())

	nc.Stop(1)
	nc.Stop(2)
	require.Eventually(t, func() bool { return moves() > 0 }, 10*ttl, 20*time.Millisecond,
		"the node never tried to move off the server without a quorum")
	first := time.Now()
	// One a TTL after the first, one more for a beat in flight at either
	// end; a move each beat (a third of a TTL) makes three a TTL.
	bound := func() float64 { return 1 + time.Since(first).Seconds()/ttl.Seconds() + 2 }
	require.Never(t, func() bool { return moves() > bound() }, 4*ttl, 50*time.Millisecond,
		"the node kept moving off the only server that answers")
	t.Logf("%v moves in the %s after the first", moves(), time.Since(first).Round(time.Millisecond))
}
