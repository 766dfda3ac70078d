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
