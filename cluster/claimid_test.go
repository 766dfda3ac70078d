package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/node"
)

// A node restarted after a crash, its last heartbeat older than half a
// TTL: the heartbeat ages out while the start watches it (claimID), which
// says no live node renews it. The start goes on; taken for a renewal,
// it refused the id (ErrNodeIDInUse) of a node that was gone.
func TestRestartAfterACrashWhileItsHeartbeatAgesOut(t *testing.T) {
	const ttl = 3 * time.Second
	url := runNATS(t)
	first := startNodeOpts(t, url, "n1", node.WithClusterHeartbeat(ttl))
	first.crash()
	nodes := bucketKV(t, url, cluster.DefaultNodesBucket)
	// Past half a TTL since the last beat, not yet aged out: started now,
	// the watch of half a TTL sees it go.
	require.Eventually(t, func() bool {
		e, err := nodes.Get(context.Background(), "n1")
		require.NoError(t, err, "the crashed run's heartbeat aged out before the restart")
		return time.Since(e.Created()) > ttl/2+ttl/10
	}, ttl, 10*time.Millisecond)
	again := startNodeOpts(t, url, "n1", node.WithClusterHeartbeat(ttl))
	register(t, again.srv.Addr(), "after-restart")
	_, err := nodes.Get(context.Background(), "n1")
	require.NotErrorIs(t, err, jetstream.ErrKeyNotFound, "the restarted node does not beat")
}
