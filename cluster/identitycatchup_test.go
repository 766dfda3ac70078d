package cluster_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
)

// A ban no node announced (written to the bucket by another program, or
// its notice missed), made while the node's watches deliver nothing (their
// consumers paused: alive, heartbeating, silent, as a consumer whose
// server lost its peers is), holds on the node within IDENTITY.md's 2 s,
// and so does its lifting, twenty at once as fast as one: the node reads them by direct gets
// (identitycatchup.go). Only an R3 test with the meta leader killed took
// that path, and only when the watch happened to lag.
func TestChangesAWatchDoesNotBringAreCaughtUp(t *testing.T) {
	url := runNATS(t)
	n := startIdentityNode(t, url, "cu-1")
	_, js := testkit.JetStream(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pauseIdentityWatches(ctx, t, js)
	kv := bucketKV(t, url, cluster.BansBucket)
	// Several at once: one look applies them all (catchUpBatch), not one
	// a look (two looks, 500 ms, each: 10 s for twenty).
	const bans = 20
	cid := func(i int) string { return "cu-banned-" + strconv.Itoa(i) }
	for i := range bans {
		val, err := identity.EncodeBan(identity.Ban{Kind: identity.KindCID, Value: cid(i), Reason: "unannounced",
			By: identity.ByOperator, At: time.Now()})
		require.NoError(t, err)
		_, err = kv.Put(ctx, "cid."+cid(i), val)
		require.NoError(t, err)
	}
	n.waitBansWithin(t, cid, bans, true, "the unannounced bans are not held")
	for i := range bans {
		require.NoError(t, kv.Delete(ctx, "cid."+cid(i)))
	}
	n.waitBansWithin(t, cid, bans, false, "the unannounced liftings are not held")
	assert.GreaterOrEqual(t, n.metric(t, cluster.MetricClusterIdentityCaught, ""), 2.0*bans, "all came by direct gets")
}

// pauseIdentityWatches pauses every consumer of the identity buckets'
// streams (the node's watches, once made) for a minute.
func pauseIdentityWatches(ctx context.Context, t *testing.T, js jetstream.JetStream) {
	t.Helper()
	for _, name := range identityStreams {
		st, err := js.Stream(ctx, name)
		require.NoError(t, err)
		var consumers []string
		require.Eventually(t, func() bool {
			consumers = consumers[:0]
			names := st.ConsumerNames(ctx)
			for c := range names.Name() {
				consumers = append(consumers, c)
			}
			return names.Err() == nil && len(consumers) > 0
		}, 10*time.Second, 20*time.Millisecond, "the node's watch of %s", name)
		for _, c := range consumers {
			_, err := js.PauseConsumer(ctx, name, c, time.Now().Add(time.Minute))
			require.NoError(t, err)
		}
	}
}

// waitBansWithin waits until n holds a ban of each of cid(0..count-1)
// (held) or of none, within IDENTITY.md's 2 s and two more for a loaded
// machine.
func (n *idNode) waitBansWithin(t *testing.T, cid func(int) string, count int, held bool, msg string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for i := range count {
			if _, ok := n.svc.Ban(identity.BanKey{Kind: identity.KindCID, Value: cid(i)}); ok != held {
				return false
			}
		}
		return true
	}, 4*time.Second, 5*time.Millisecond, msg)
}
