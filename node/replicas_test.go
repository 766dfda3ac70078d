package node_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/webhook"
)

// --cluster-replicas is every bucket's and the event stream's, the
// webhook's cursor and lease included: a cursor kept on one NATS server
// of three is lost with it, and the webhook then begins afresh after the
// newest event, never sending those the receiver had not acknowledged.
func TestClusterReplicasKeepEveryBucketAndTheStream(t *testing.T) {
	c := testkit.NATSClusterOf3(t)
	urls := strings.Join(c.URLs(), ",")
	nodetest.Start(t, node.WithCluster(urls, "n1"), node.WithClusterReplicas(3), node.WithEventRetention(100),
		node.WithWebhook(node.Webhook{URL: "http://127.0.0.1:1/hook", Signer: testSigner(t)}))

	_, js := testkit.JetStream(t, urls)
	streams := []string{events.DefaultStreamName}
	for _, b := range []string{cluster.DefaultClientsBucket, cluster.DefaultNodesBucket, cluster.CredentialsBucket,
		cluster.BansBucket, webhook.CursorBucket, webhook.LeaseBucket} {
		streams = append(streams, "KV_"+b)
	}
	for _, name := range streams {
		s, err := js.Stream(t.Context(), name)
		require.NoError(t, err, name)
		assert.Equal(t, 3, s.CachedInfo().Config.Replicas, name)
	}
}
