package cluster_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
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
}
