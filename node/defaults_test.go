package node_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/reactor"
)

// The defaults the options document, for an embedder that leaves them
// out (nodetest and `cliser serve` give each): no admin listener
// (AdminAddr "off", no API), no webhook, a nil logger as none, and in a
// cluster the heartbeat of cluster.DefaultHeartbeatTTL.
func TestNodeDefaultsAsDocumented(t *testing.T) {
	n := node.New(node.WithLogger(nil), node.WithListen("127.0.0.1:0"),
		node.WithReactorOptions(reactor.WithPasswords([][]byte{[]byte(nodetest.Password)})))
	require.NoError(t, n.Start(context.Background()))
	t.Cleanup(func() { _ = n.Close() })
	assert.Equal(t, "off", n.AdminAddr())
	assert.True(t, n.API() == nil, "no admin API")
	assert.True(t, n.Webhook() == nil, "no webhook")
	testkit.Dial(t, n.Addr()).Register(nodetest.Password, "plain-1")

	c := nodetest.Start(t, node.WithCluster(testkit.NATS(t).ClientURL(), "n1"))
	assert.Equal(t, cluster.DefaultHeartbeatTTL, c.Cluster().HeartbeatTTL())
}
