package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
)

// A node that died a moment ago still has its heartbeat, so a broadcast
// asks it, and it does not answer: the order stands on the others, and
// the answer names the node (before: a smaller count, and nothing else).
func TestShutdownAllNamesANodeThatDidNotConfirm(t *testing.T) {
	url := runNATS(t)
	n1 := startNode(t, url, "sa-1")
	n2 := startNode(t, url, "sa-2")
	c := register(t, n1.srv.Addr(), "sa-dev")
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterNodes, "") == 2 }, "both nodes alive")
	n2.crash()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := n1.api.ShutdownAll(ctx, "partial")
	require.NoError(t, err)
	assert.Equal(t, 1, got.Sent)
	assert.Equal(t, []string{"sa-2"}, got.UnconfirmedNodes)
	assert.Equal(t, 1.0, n1.metric(t, cluster.MetricClusterUnconfirmed, ""))
	c.Expect("130 shutdown partial")
}
