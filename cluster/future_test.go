package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/registrytest"
)

// A rolling upgrade: a newer node ("n3") registers clients and ends them
// with a close reason this build does not know. Every node's list and GET
// show it as its text, the connected gauge follows, a node of this build
// that held an older session does not win over the newer node's record
// with its own end of it, and a slot value this build can not read at all
// is left out of the index and never written over, and takes the records
// the slot held before out of it.
func TestFutureReasonKeptAsText(t *testing.T) {
	url := runNATS(t)
	nodes := startNodes(t, url, "n1", "n2")
	n1, n2 := nodes[0], nodes[1]
	register(t, n2.srv.Addr(), "fut-1")
	c2 := register(t, n2.srv.Addr(), "fut-2")
	c3 := register(t, n2.srv.Addr(), "fut-3")
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterConnected, "") == 3 }, "all three published")
	kv := clientsKV(t, url)
	ctx := context.Background()
	const future = "some future reason"
	now := time.Now().UTC()
	ended := func(sid uint16, cid string) registry.Record {
		return registry.Record{SID: sid, CID: cid, CIP: "10.0.0.3", CPort: "3", ConnectedAt: now, LastSeen: now,
			DisconnectedAt: now, Reason: registrytest.FutureReason(future), Node: "n3"}
	}

	// n3's slot 0: fut-1, registered by this very write (revision 0).
	val, err := cluster.EncodeSlot([]registry.Record{ended(1, "fut-1")}, []uint64{0})
	require.NoError(t, err)
	rev1, err := kv.Put(ctx, cluster.SlotKey("n3", 0), val)
	require.NoError(t, err)
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

	// n2 still holds a session of fut-2 when the newer node's registration
	// and end of it lands; and n3 writes a slot this build can not read.
	val, err = cluster.EncodeSlot([]registry.Record{ended(1, "fut-1"), ended(2, "fut-2")}, []uint64{rev1, 0})
	require.NoError(t, err)
	_, err = kv.Update(ctx, cluster.SlotKey("n3", 0), val, rev1)
	require.NoError(t, err)
	unreadable := []byte{9, 'n', 'e', 'w', 'e', 'r'}
	_, err = kv.Put(ctx, cluster.SlotKey("n3", 1), unreadable)
	require.NoError(t, err)
	eventually(t, func() bool {
		r, ok := n1.record(t, "fut-2")
		return ok && r.Node == "n3" && n2.metric(t, cluster.MetricClusterConnected, "") == 1
	}, "the indexes: fut-2 is n3's now")
	assert.Equal(t, 3.0, n2.metric(t, cluster.MetricClusterRecords, ""), "the unreadable slot is left out")
	require.NoError(t, c2.Conn.Close())
	require.NoError(t, c3.Conn.Close())
	eventually(t, func() bool {
		a, _ := n2.reg.Get("fut-2")
		b, _ := n2.reg.Get("fut-3")
		return !a.CStatus && !b.CStatus
	}, "n2's sessions ended")
	require.NoError(t, n2.reg.Flush())
	eventually(t, func() bool { return n2.metric(t, cluster.MetricClusterWrites, "held elsewhere") >= 1 },
		"n2's end of fut-2 counted as held elsewhere")
	eventually(t, func() bool { r, ok := n1.record(t, "fut-3"); return ok && !r.CStatus }, "n2's end of fut-3 written")
	rec, ok = n1.record(t, "fut-2")
	require.True(t, ok)
	assert.Equal(t, future, rec.Reason)
	assert.Equal(t, "n3", rec.Node)
	assert.NotEqual(t, protocol.ReasonClosedByClient.String(), rec.Reason)
	raw, err := kv.Get(ctx, cluster.SlotKey("n3", 1))
	require.NoError(t, err)
	assert.Equal(t, unreadable, raw.Value(), "the unreadable slot is left as it was")

	// n3's slot 0 turns unreadable: its records leave the index, not shown
	// in a state the bucket no longer has.
	_, err = kv.Put(ctx, cluster.SlotKey("n3", 0), unreadable)
	require.NoError(t, err)
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterRecords, "") == 1 },
		"only fut-3 (n2's) is left in n1's index")
	assert.Equal(t, []string{"fut-3"}, cidsOf(n1.listAll(t, "all", 0)))
}
