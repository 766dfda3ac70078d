package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/node"
)

// A node started with another --cluster-heartbeat keeps the live
// cluster's: each start set the nodes bucket's TTL to its own, and a
// shorter one aged out the heartbeats of the nodes that renew every third
// of the longer one, between two renewals (an audit saw the webhook
// lease, which follows it, flap every 3 s). With no node alive, a start
// sets its own: a heartbeat is changed by restarting every node.
func TestNodesKeepTheClusterHeartbeat(t *testing.T) {
	url := runNATS(t)
	ttlOf := func() time.Duration {
		st, err := bucketKV(t, url, cluster.DefaultNodesBucket).Status(context.Background())
		require.NoError(t, err)
		return st.TTL()
	}
	n1 := startNodeOpts(t, url, "n1", node.WithClusterHeartbeat(3*time.Second))
	require.Equal(t, 3*time.Second, ttlOf())
	n2 := startNodeOpts(t, url, "n2", node.WithClusterHeartbeat(time.Second))
	assert.Equal(t, 3*time.Second, n2.node.HeartbeatTTL(), "n1 is alive: n2 keeps its heartbeat")
	assert.Equal(t, 3*time.Second, ttlOf(), "the bucket kept it")

	n1.stop()
	n2.stop()
	n3 := startNodeOpts(t, url, "n3", node.WithClusterHeartbeat(2*time.Second))
	assert.Equal(t, 2*time.Second, n3.node.HeartbeatTTL(), "no node alive: a restart changes it")
	assert.Equal(t, 2*time.Second, ttlOf())
}

// A clean stop removes the node's heartbeat also when its last beat
// landed unanswered (the stop cancelled it in flight): the delete was
// made at the revision the node had seen, found a newer one, and left the
// heartbeat, so the others counted the stopped node live for a TTL (a
// start after it kept that node's heartbeat setting: this file's test
// failed so under CI load).
func TestStopRemovesAHeartbeatThatLandedUnanswered(t *testing.T) {
	url := runNATS(t)
	n1 := startNodeOpts(t, url, "n1", node.WithClusterHeartbeat(time.Minute))
	require.NoError(t, n1.node.BeatUnanswered(context.Background()))
	n1.stop()
	_, err := bucketKV(t, url, cluster.DefaultNodesBucket).Get(context.Background(), "n1")
	assert.ErrorIs(t, err, jetstream.ErrKeyNotFound, "the stopped node's heartbeat is gone")
}
