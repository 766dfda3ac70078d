package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// TestCrashMidBatch kills a node while one flush of thousands of records
// is on its way to the bucket (some windows acknowledged, others in
// flight): nothing is lost or duplicated. The records that reached the
// bucket are marked "node lost" exactly once across the two survivors
// (one event each), every list page walk shows each record once, and
// when the clients come back through the survivors each is listed once,
// connected.
func TestCrashMidBatch(t *testing.T) {
	const clients = 1500
	natsURL, cut, n1 := partitioned(t)
	var lost testkit.List[string] // the CID of each node-lost event
	record := func(c registry.Change) {
		if c.Kind == registry.ChangeDisconnected && c.Record.Reason.String() == "node lost" {
			lost.Add(c.Record.CID)
		}
	}
	_, js := testkit.JetStream(t, natsURL)
	stream, err := js.Stream(context.Background(), "KV_"+cluster.DefaultClientsBucket)
	require.NoError(t, err)
	inBucket := func() uint64 {
		info, err := stream.Info(context.Background())
		require.NoError(t, err)
		return info.State.Msgs
	}

	// With n1 cut off from NATS its registrations wait in its dirty set,
	// so the heal hands them to the store as one batch.
	cut.SetCut(true)
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterNATSConnected, "") == 0 }, "n1 cut off")
	cid := func(i int) string { return fmt.Sprintf("batch-%04d", i) }
	for i := range clients {
		c, err := handshake(n1.srv.Addr(), cid(i))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
	}
	cut.SetCut(false)
	deadline := time.Now().Add(30 * time.Second)
	for inBucket() == 0 {
		require.True(t, time.Now().Before(deadline), "n1's batch never reached the bucket")
	}
	n1.crash()
	// The survivors start after the crash: had they watched n1's late
	// heartbeat after the heal, they could have marked records n1 then
	// published again, and a record is rightly marked twice.
	n2 := startNode(t, natsURL, "n2", cluster.WithChanges(record))
	n3 := startNode(t, natsURL, "n3", cluster.WithChanges(record))

	// The survivors mark what reached the bucket; no record stays n1's
	// and connected.
	var onBucket []string
	require.Eventually(t, func() bool {
		all := n2.listAll(t, "", 7)
		onBucket = onBucket[:0]
		for _, r := range all {
			if r.Node == "n1" && r.CStatus {
				return false
			}
			onBucket = append(onBucket, r.CID)
		}
		return true
	}, 30*time.Second, 20*time.Millisecond, "n1's records marked node lost")
	require.NotEmpty(t, onBucket)
	require.Less(t, len(onBucket), clients, "the crash came after the whole batch was written: not mid-batch")
	t.Logf("%d of %d records reached the bucket before the crash", len(onBucket), clients)
	assertOnce(t, onBucket)
	for _, tn := range []*testNode{n2, n3} {
		for _, r := range tn.listAll(t, "", 7) {
			assert.Equal(t, "n1", r.Node)
			assert.Equal(t, "node lost", r.Reason, r.CID)
		}
	}
	lostEvents := func() map[string]int {
		times := map[string]int{}
		for _, c := range lost.All() {
			times[c]++
		}
		return times
	}
	eventually(t, func() bool { return len(lostEvents()) == len(onBucket) },
		"one node-lost event per marked record")
	for c, times := range lostEvents() {
		assert.Equal(t, 1, times, "node-lost events for %s across the survivors", c)
	}

	// The clients come back through the survivors: each listed once, connected.
	for i := range clients {
		c, err := handshake([]string{n2.srv.Addr(), n3.srv.Addr()}[i%2], cid(i))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
	}
	for _, tn := range []*testNode{n2, n3} {
		var all []string
		require.Eventually(t, func() bool {
			all = all[:0]
			for _, r := range tn.listAll(t, "connected", 333) {
				all = append(all, r.CID)
			}
			return len(all) == clients
		}, 30*time.Second, 20*time.Millisecond, "%s lists every client connected", tn.id)
		assertOnce(t, all)
		assert.Len(t, tn.listAll(t, "disconnected", 0), 0, "%s: nothing left disconnected", tn.id)
	}
}

// assertOnce: cids are in strictly ascending order, so none is listed twice.
func assertOnce(t *testing.T, cids []string) {
	t.Helper()
	for i := 1; i < len(cids); i++ {
		require.Less(t, cids[i-1], cids[i], "list order or a duplicate at %d", i)
	}
}
