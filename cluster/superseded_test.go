package cluster_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A node stopped cleanly leaves nothing for the lost-node check: its
// records are disconnected, and a client of it that registers on another
// node supersedes no connected record. The check reads a node's heartbeat
// and slots only while the mirror says it holds connected records ("the
// usual case: no scan of the mirror"); a slot left counted, even at
// zero, would be read at every check, for good, once its node is gone.
func TestCleanlyStoppedNodeIsNoSuspect(t *testing.T) {
	url := runNATS(t)
	n1, n2 := startNode(t, url, "n1"), startNode(t, url, "n2")
	c := register(t, n2.srv.Addr(), "mover")
	eventually(t, func() bool { return n1.listed(t, "mover") }, "n1 lists the client on n2")
	require.NoError(t, c.Conn.Close())
	eventually(t, func() bool { return !n1.listed(t, "mover") }, "n1 sees the client gone")
	n2.stop()
	register(t, n1.srv.Addr(), "mover")
	eventually(t, func() bool {
		rec, ok := n1.record(t, "mover")
		return ok && rec.Node == "n1" && n1.listed(t, "mover")
	}, "n1 lists the client on n1")
	assert.Empty(t, n1.node.HeldByOthers(), "nodes the lost-node check would read")
}
