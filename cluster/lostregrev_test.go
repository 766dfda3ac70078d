package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// A client registered and gone within one flush of its node is written
// once, disconnected, with the registration revision "this write's own"
// (0). A survivor that marks that node lost writes the slot again: such a
// record must keep the revision of the write that registered it, not take
// the mark's. With the mark's, every node took it for a registration newer
// than the client's live session on another node: the list showed the
// connected client disconnected on the lost node, and flapping counted one
// registration more on every survivor.
func TestLostMarksKeepARegistrationsRevision(t *testing.T) { registrationsRevisionKept(t, false) }

// The same record, when its node restarts before a survivor judges it
// lost: the restart's write of the slot (its marks "server restarted")
// keeps the record's registration revision too.
func TestRestartKeepsARegistrationsRevision(t *testing.T) {
	t.Parallel()
	registrationsRevisionKept(t, true)
}

func registrationsRevisionKept(t *testing.T, restart bool) {
	url := runNATS(t)
	// A long heartbeat when n1 restarts: n2 must not judge it lost first.
	beat := time.Second
	if restart {
		beat = 10 * time.Second
	}
	start := func() *testNode {
		return startNodeOpts(t, url, "lrr-1", node.WithRegistryOptions(registry.WithFlushInterval(300*time.Millisecond)),
			node.WithClusterHeartbeat(beat))
	}
	n1 := start()
	n2 := startNode(t, url, "lrr-2")

	_ = register(t, n1.srv.Addr(), "lrr-stays") // a live record in the slot: the survivor marks it
	eventually(t, func() bool { return n2.listed(t, "lrr-stays") }, "lrr-stays reaches n2")

	c := register(t, n1.srv.Addr(), "lrr-dev") // same slot (the next sid), gone before the flush
	require.NoError(t, c.Conn.Close())
	eventually(t, func() bool {
		r, ok := n2.record(t, "lrr-dev")
		return ok && r.Node == "lrr-1" && !r.CStatus
	}, "lrr-dev's short session on n1 reaches n2")

	_ = register(t, n2.srv.Addr(), "lrr-dev") // the device now lives on n2
	eventually(t, func() bool {
		r, ok := n2.record(t, "lrr-dev")
		return ok && r.Node == "lrr-2" && r.CStatus && n2.listed(t, "lrr-dev")
	}, "lrr-dev connected on n2")

	n1.crash()
	reason := protocol.ReasonNodeLost
	if restart {
		start()
		reason = protocol.ReasonServerRestarted
	}
	eventually(t, func() bool {
		r, ok := n2.record(t, "lrr-stays")
		return ok && !r.CStatus && r.Reason == reason.String()
	}, "n1's live client marked %s", reason)
	r, ok := n2.record(t, "lrr-dev")
	require.True(t, ok)
	require.Equal(t, "lrr-2", r.Node, "lrr-dev is n2's: %+v", r)
	require.True(t, r.CStatus, "lrr-dev connected on n2: %+v", r)
	require.True(t, n2.listed(t, "lrr-dev"), "listed connected")
}
