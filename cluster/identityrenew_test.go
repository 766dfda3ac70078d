package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
)

// The identity buckets deleted and made again by hand, NATS up all along:
// no watch ever finds them gone, so only the streams' creation times tell
// (identityrenew.go). A node that missed it kept the ban the new bucket
// does not hold, and its watch resumed past the new bucket's first
// revisions. Both nodes load the new buckets whole, and a ban made then
// reaches the other node.
func TestIdentityBucketsMadeAgainUnderTheWatchAreLoadedWhole(t *testing.T) {
	url := runNATS(t)
	n1 := startIdentityNode(t, url, "ir-1")
	n2 := startIdentityNode(t, url, "ir-2")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := n1.svc.AddBan(ctx, identity.KindCID, "before-remake", "lost with its bucket", 0)
	require.NoError(t, err)
	n2.waitBan(t, "before-remake", true)

	_, js := testkit.JetStream(t, url)
	// Deleted and made again at once: a look between the two is unlikely.
	for _, b := range []string{cluster.CredentialsBucket, cluster.BansBucket} {
		require.NoError(t, js.DeleteKeyValue(ctx, b))
		_, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b, History: 1, Storage: jetstream.FileStorage})
		require.NoError(t, err)
	}

	for _, n := range []*idNode{n1, n2} {
		require.Eventually(t, func() bool { // a look every 5 s, then a load
			_, held := n.svc.Ban(identity.BanKey{Kind: identity.KindCID, Value: "before-remake"})
			return !held && n.svc.Ready()
		}, 20*time.Second, 20*time.Millisecond, "%s still holds the ban of the bucket deleted", n.id)
	}
	_, err = n2.svc.AddBan(ctx, identity.KindCID, "after-remake", "in the new bucket", 0)
	require.NoError(t, err)
	n1.waitBan(t, "after-remake", true, "a ban made in the new bucket did not reach node 1")
}

// The identity buckets deleted by hand and not made again (the nodes
// bucket is there, so no heartbeat fails and no node makes them): every
// identity write fails, and a node must say so by turning not ready, not
// keep serving the credentials and bans of buckets that are gone.
func TestIdentityBucketsGoneTurnTheNodeNotReady(t *testing.T) {
	url := runNATS(t)
	n1 := startIdentityNode(t, url, "ig-1")
	require.Eventually(t, n1.svc.Ready, 10*time.Second, 20*time.Millisecond, "never ready")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, js := testkit.JetStream(t, url)
	for _, b := range []string{cluster.CredentialsBucket, cluster.BansBucket} {
		require.NoError(t, js.DeleteKeyValue(ctx, b))
	}
	require.Eventually(t, func() bool { return !n1.svc.Ready() }, 20*time.Second, 20*time.Millisecond,
		"the node stays ready with its identity buckets gone") // a look every 5 s
}
