package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/registry"
)

// A record the bucket expires (retention) leaves every node's mirror too:
// GET, the list and cliser_cluster_records agree that it is gone.
func TestExpiredRecordsLeaveTheMirror(t *testing.T) {
	url := runNATS(t)
	n1 := startNode(t, url, "n1", cluster.WithRetention(2*time.Second))
	n2 := startNode(t, url, "n2", cluster.WithRetention(2*time.Second))

	c := register(t, n1.srv.Addr(), "exp-1")
	for _, tn := range []*testNode{n1, n2} {
		eventually(t, func() bool { return tn.listed(t, "exp-1") }, "node %s lists exp-1", tn.id)
	}
	require.NoError(t, c.Conn.Close())
	eventually(t, func() bool { r, ok := n2.record(t, "exp-1"); return ok && !r.CStatus },
		"the disconnect reached the bucket")

	// Disconnected, the record is not written again: it ages out.
	for _, tn := range []*testNode{n1, n2} {
		eventually(t, func() bool {
			_, found := tn.record(t, "exp-1")
			return !found && len(tn.listAll(t, "all", 0)) == 0 &&
				tn.metric(t, cluster.MetricClusterRecords, "") == 0
		}, "node %s: get, list and gauge agree that exp-1 expired", tn.id)
	}
}

// A bucket made by an earlier version, without limit markers, gets them
// when a node of this version joins (a rolling upgrade).
func TestJoinAddsMarkersToAnOldBucket(t *testing.T) {
	url := runNATS(t)
	_, js := testkit.JetStream(t, url)
	ctx := context.Background()
	_, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: cluster.DefaultClientsBucket, History: 1, TTL: time.Hour, Storage: jetstream.FileStorage,
	})
	require.NoError(t, err)

	startNode(t, url, "n1", cluster.WithRetention(time.Hour))
	kv, err := js.KeyValue(ctx, cluster.DefaultClientsBucket)
	require.NoError(t, err)
	st, err := kv.Status(ctx)
	require.NoError(t, err)
	assert.Positive(t, st.(*jetstream.KeyValueBucketStatus).LimitMarkerTTL(), "limit markers on")
	assert.Equal(t, time.Hour, st.TTL())
}

// A record the registry prunes (its retention) while its slot stays in
// the bucket leaves every node's mirror too: the slot's next write names
// it as removed, as a record no longer in a value is not taken for gone.
func TestPrunedRecordLeavesEveryMirror(t *testing.T) {
	url := runNATS(t)
	n1 := startNodeOpts(t, url, "pr-1", node.WithRegistryOptions(registry.WithRetention(time.Second),
		registry.WithCheckpoint(200*time.Millisecond), registry.WithFlushInterval(100*time.Millisecond)))
	n2 := startNode(t, url, "pr-2")

	_ = register(t, n1.srv.Addr(), "pr-stays") // keeps the slot written
	c := register(t, n1.srv.Addr(), "pr-gone") // the next sid: the same slot
	eventually(t, func() bool { return n2.listed(t, "pr-stays") && n2.listed(t, "pr-gone") }, "n2 lists both")
	require.NoError(t, c.Conn.Close())
	eventually(t, func() bool { _, ok := n1.reg.Get("pr-gone"); return !ok }, "n1 prunes pr-gone")
	eventually(t, func() bool {
		all := n2.listAll(t, "all", 0)
		return len(all) == 1 && all[0].CID == "pr-stays" && n2.metric(t, cluster.MetricClusterRecords, "") == 1
	}, "n2's list and gauge: pr-gone gone, pr-stays kept")
}
