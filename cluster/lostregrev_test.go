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
func TestLostMarksKeepARegistrationsRevision(t *testing.T) {
	url := runNATS(t)
	n1 := startNodeOpts(t, url, "lrr-1", node.WithRegistryOptions(registry.WithFlushInterval(300*time.Millisecond)))
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
	eventually(t, func() bool {
		r, ok := n2.record(t, "lrr-stays")
		return ok && !r.CStatus && r.Reason == protocol.ReasonNodeLost.String()
	}, "n1's live client marked node lost")
	r, ok := n2.record(t, "lrr-dev")
	require.True(t, ok)
	require.Equal(t, "lrr-2", r.Node, "lrr-dev is n2's: %+v", r)
	require.True(t, r.CStatus, "lrr-dev connected on n2: %+v", r)
	require.True(t, n2.listed(t, "lrr-dev"), "listed connected")
}
