package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/protocol"
)

// A rolling upgrade: a newer node ("n3") writes a close reason this build
// does not know. Every node's list and GET show it as its text, the
// connected gauge follows, and a node of this build does not write its own
// older view of the client over the newer node's record, nor over a record
// it can not read at all.
func TestFutureReasonKeptAsText(t *testing.T) {
	url := runNATS(t)
	nodes := startNodes(t, url, "n1", "n2")
	n1, n2 := nodes[0], nodes[1]
	register(t, n2.srv.Addr(), "fut-1")
	c2 := register(t, n2.srv.Addr(), "fut-2")
	c3 := register(t, n2.srv.Addr(), "fut-3")
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterConnected, "") == 3 }, "all three published")
	kv := clientsKV(t, url)
	const future = "some future reason"
	ended := map[string]any{"cstatus": false, "reason": future, "node": "n3", "disconnected_at": time.Now().UTC()}

	overwrite(t, kv, "fut-1", ended)
	eventually(t, func() bool {
		for _, r := range n1.listAll(t, "all", 0) {
			if r.CID == "fut-1" {
				return !r.CStatus && r.Reason == future && r.Node == "n3"
			}
		}
		return false
	}, "n1's list shows the newer node's record with its reason's text")
	rec, ok := n1.record(t, "fut-1")
	require.True(t, ok)
	assert.Equal(t, future, rec.Reason, "GET shows the original text")
	assert.False(t, rec.CStatus)
	assert.Equal(t, 2.0, n1.metric(t, cluster.MetricClusterConnected, ""), "the gauge follows the update")

	// n2 still holds sessions of fut-2 and fut-3 when the newer node's word
	// (and, for fut-3, a record this build can not read) lands; their ends
	// here must not be written over it.
	overwrite(t, kv, "fut-2", ended)
	overwrite(t, kv, "fut-3", map[string]any{"cstatus": "maybe", "node": "n3"})
	eventually(t, func() bool { return n2.metric(t, cluster.MetricClusterRecords, "") == 2 },
		"the unreadable record left n2's mirror")
	require.NoError(t, c2.Conn.Close())
	require.NoError(t, c3.Conn.Close())
	eventually(t, func() bool {
		a, _ := n2.reg.Get("fut-2")
		b, _ := n2.reg.Get("fut-3")
		return !a.CStatus && !b.CStatus
	}, "n2's sessions ended")
	require.NoError(t, n2.reg.Flush())
	eventually(t, func() bool { return n2.metric(t, cluster.MetricClusterWrites, "held elsewhere") >= 2 },
		"n2's writes of fut-2 and fut-3 were held back")
	doc := bucketDoc(t, kv, "fut-2")
	assert.Equal(t, future, doc["reason"])
	assert.Equal(t, "n3", doc["node"])
	doc = bucketDoc(t, kv, "fut-3")
	assert.Equal(t, "maybe", doc["cstatus"], "the unreadable record is left as it was")
	rec, ok = n1.record(t, "fut-2")
	require.True(t, ok)
	assert.Equal(t, future, rec.Reason)
	assert.NotEqual(t, protocol.ReasonClosedByClient.String(), rec.Reason)
}
