package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// A client ID that registers on another node and is gone before that
// node's flush (a second device under the same ID, a reconnect that
// failed at once) is a newer registration all the same: the live session
// elsewhere ends `190 replaced`, as on one node, and every node lists the
// client disconnected, which it then is. Before, its record (written
// once, disconnected) won the index by its revision while the older
// session stayed live: every node listed the connected client
// disconnected on the other node, the cluster's connected count was one
// short, and a kick through any node but the holder answered 404, for as
// long as the client stayed connected. A NATS outage did the same to a
// client that moved between two nodes meanwhile, whichever node's write
// came last once NATS was back (cluster audit).
func TestBriefRegistrationElsewhereReplacesTheLiveSession(t *testing.T) {
	url := runNATS(t)
	n1 := startNode(t, url, "bt-1")
	n2 := startNodeOpts(t, url, "bt-2", node.WithRegistryOptions(registry.WithFlushInterval(300*time.Millisecond)))

	live := register(t, n1.srv.Addr(), "bt-dev")
	eventually(t, func() bool { return n2.listed(t, "bt-dev") }, "the live session on n1 reaches n2")

	brief := register(t, n2.srv.Addr(), "bt-dev") // gone before n2's next flush
	require.NoError(t, brief.Conn.Close())

	live.Timeout = 10 * time.Second
	live.ExpectClosed("190 " + protocol.ReasonReplaced.String())
	eventually(t, func() bool {
		for _, tn := range []*testNode{n1, n2} {
			r, ok := tn.record(t, "bt-dev")
			if !ok || r.CStatus || tn.listed(t, "bt-dev") {
				return false
			}
		}
		return true
	}, "both nodes list bt-dev disconnected")
}
