package cluster_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// A node's slot deleted by hand (nats kv del): the node's next write to
// it, a compare-and-set on the revision it last wrote, loses, and it
// writes over the delete at the delete's revision (resyncSlot, lastSlot).
// Taken as revision 0, every write of the slot failed from then on.
func TestSlotDeletedByHandIsWrittenAgain(t *testing.T) {
	url := runNATS(t)
	n1, n2 := startNode(t, url, "n1"), startNode(t, url, "n2")
	register(t, n1.srv.Addr(), "before-del")
	eventually(t, func() bool { return n2.listed(t, "before-del") }, "listed before the delete")
	kv := clientsKV(t, url)
	keys, err := kv.ListKeys(context.Background())
	require.NoError(t, err)
	for k := range keys.Keys() {
		if node, _, err := cluster.ParseSlotKey(k); err == nil && node == "n1" {
			require.NoError(t, kv.Delete(context.Background(), k))
		}
	}
	register(t, n1.srv.Addr(), "after-del") // the same slot of 64
	eventually(t, func() bool { return n2.listed(t, "after-del") && n2.listed(t, "before-del") },
		"the slot deleted by hand is not written again")

	// One slot of a node's two deleted: only its records leave the index.
	ctx := context.Background()
	for s, cid := range []string{"del-slot-0", "del-slot-1"} {
		val, err := cluster.EncodeSlot([]registry.Record{{SID: uint16(1 + 64*s), CID: cid, Node: "n3", Reason: protocol.ReasonClosedByClient}}, []uint64{0})
		require.NoError(t, err)
		_, err = kv.Put(ctx, cluster.SlotKey("n3", uint16(s)), val)
		require.NoError(t, err)
	}
	eventually(t, func() bool { return len(n2.listAll(t, "disconnected", 0)) == 2 }, "n3's two slots indexed")
	require.NoError(t, kv.Delete(ctx, cluster.SlotKey("n3", 0)))
	eventually(t, func() bool { _, ok := n2.record(t, "del-slot-0"); return !ok }, "the deleted slot's record left")
	require.Equal(t, []string{"del-slot-1"}, cidsOf(n2.listAll(t, "disconnected", 0)), "the other slot's stays")
}
