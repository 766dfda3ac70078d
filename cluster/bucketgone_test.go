package cluster_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
)

// NATS restarted without its store (a pod without a volume) under two
// nodes: the buckets are made again without a restart, both nodes take
// the new identity buckets as they are (the ban NATS lost is gone from
// both, not from one), a ban made then reaches the other node, and a
// live client's record is in the new clients bucket. Before, every write
// failed until a node restarted, and then the nodes held different bans
// with every probe green (cluster audit).
func TestBucketsLostWithNATSStoreAreMadeAgain(t *testing.T) {
	t.Parallel()
	ns := testkit.NATSAt(t, t.TempDir(), -1)
	port := ns.Addr().(*net.TCPAddr).Port
	n1 := startIdentityNode(t, ns.ClientURL(), "bg-1")
	n2 := startIdentityNode(t, ns.ClientURL(), "bg-2")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := n1.svc.AddBan(ctx, identity.KindCID, "before-wipe", "lost with NATS", 0)
	require.NoError(t, err)
	n2.waitBan(t, "before-wipe", true)
	register(t, n1.srv.Addr(), "bg-dev")
	register(t, n2.srv.Addr(), "bg-dev-2")
	// Revisions in the old bucket well past what the new one reaches in
	// the test: a watch that resumed after them would see nothing new.
	for i := range 30 {
		cid := fmt.Sprintf("bg-old-%02d", i)
		register(t, n1.srv.Addr(), cid)
		eventually(t, func() bool { return n2.listed(t, cid) }, "%s listed before the wipe", cid)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	testkit.NATSAt(t, t.TempDir(), port) // the same address, an empty store

	eventually(t, func() bool {
		return n1.metric(t, cluster.MetricClusterBucketsRemade, "")+n2.metric(t, cluster.MetricClusterBucketsRemade, "") >= 1
	}, "the buckets made again")
	for _, n := range []*idNode{n1, n2} {
		require.Eventually(t, func() bool {
			_, held := n.svc.Ban(identity.BanKey{Kind: identity.KindCID, Value: "before-wipe"})
			return !held && n.svc.Ready()
		}, 20*time.Second, 20*time.Millisecond, "%s still holds the ban NATS lost", n.id)
	}
	require.Eventually(t, func() bool {
		_, err := n2.svc.AddBan(ctx, identity.KindCID, "after-wipe", "made again", 0)
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "no ban could be written to the buckets made again")
	n1.waitBan(t, "after-wipe", true, "a ban made after the wipe did not reach node 1")
	// Every node writes its live clients into the new bucket, and reads it
	// from its first revision: one registered after the wipe is seen too.
	eventually(t, func() bool { return n2.listed(t, "bg-dev") }, "node 1's live client is not in the new bucket")
	eventually(t, func() bool { return n1.listed(t, "bg-dev-2") }, "node 2's live client is not in the new bucket")
	register(t, n2.srv.Addr(), "bg-after")
	eventually(t, func() bool { return n1.listed(t, "bg-after") }, "a client registered after the wipe is not seen from node 1")
	for _, n := range []*idNode{n1, n2} {
		assert.ErrorContains(t, n.node.HealthNote(), "the clients bucket was made anew", "%s has no note", n.id)
	}
	rec, ok := n1.reg.Get("bg-dev")
	require.True(t, ok && rec.CStatus, "the live session was closed: %+v", rec)
}
