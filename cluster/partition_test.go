package cluster_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// The partition tests: n1 behind a relay the test cuts (partitioned), with
// thousands of clients whose records reach the bucket in one batch.

// A node cut off from NATS while another marked its thousands of live
// clients "node lost" publishes them again when the partition heals,
// without a goroutine (and a round trip at once) per record, and without
// an older write of a client overwriting a newer one: clients that end
// during the heal stay disconnected in the bucket, the rest connected.
func TestHealRepublishIsBounded(t *testing.T) {
	const clients = 2000
	natsURL, cut, n1 := partitioned(t)

	conns := make([]net.Conn, clients)
	cid := func(i int) string { return fmt.Sprintf("heal-%04d", i) }
	for i := range conns {
		c, err := handshake(n1.srv.Addr(), cid(i))
		require.NoError(t, err)
		conns[i] = c
		t.Cleanup(func() { _ = c.Close() })
	}
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterConnected, "") == clients },
		"every client published")

	// The partition: n1 can not reach NATS; a survivor marks its clients.
	cut.SetCut(true)
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterNATSConnected, "") == 0 }, "n1 cut off")
	kv := clientsKV(t, natsURL)
	all := make([]string, clients)
	for i := range all {
		all[i] = cid(i)
	}
	overwrite(t, kv, markLost, all...)

	// The heal, sampled for goroutines; every tenth client leaves as it
	// happens, racing its node's republication of it.
	runtime.GC()
	base := runtime.NumGoroutine()
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peak.Store(max(peak.Load(), int64(runtime.NumGoroutine())))
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	cut.SetCut(false)
	for i := 0; i < clients; i += 10 {
		require.NoError(t, conns[i].Close())
	}
	want := func(i int) (connected bool, reason string) {
		if i%10 == 0 {
			return false, protocol.ReasonClosedByClient.String()
		}
		return true, ""
	}
	wrong := ""
	settled := assert.Eventually(t, func() bool {
		all := n1.listAll(t, "all", 1000)
		if len(all) != clients {
			wrong = fmt.Sprintf("%d records listed", len(all))
			return false
		}
		bad := 0
		for i, r := range all {
			connected, reason := want(i)
			if r.CID != cid(i) || r.CStatus != connected || r.Reason != reason || r.Node != "n1" {
				if bad == 0 {
					wrong = fmt.Sprintf("the first wrong: %+v", r)
				}
				bad++
			}
		}
		wrong = fmt.Sprintf("%d wrong; %s", bad, wrong)
		return bad == 0
	}, time.Minute, 50*time.Millisecond, "the bucket holds every client's newest state")
	require.True(t, settled, "at the last check: %s", wrong)
	close(stop)
	<-sampled
	t.Logf("goroutines: %d before the heal, %d at its peak", base, peak.Load())
	assert.Less(t, peak.Load()-int64(base), int64(100), "the heal must not start a goroutine per record")
	// And the bucket itself, not only n1's view (its own clients come from
	// its registry), says so once n1's republications are written: on a
	// busy machine they land after n1's list is already right.
	inBucket := assert.Eventually(t, func() bool {
		bad := 0
		inBucket := bucketRecords(t, kv)
		for i := range clients {
			rec := inBucket[cid(i)]
			connected, reason := want(i)
			if rec.CStatus != connected || rec.Reason.String() != reason {
				if bad == 0 {
					wrong = fmt.Sprintf("the first wrong: %s %+v", cid(i), rec)
				}
				bad++
			}
		}
		wrong = fmt.Sprintf("%d wrong in the bucket; %s", bad, wrong)
		return bad == 0
	}, time.Minute, 100*time.Millisecond, "the bucket holds every client's newest state")
	require.True(t, inBucket, "at the last check: %s", wrong)

	// Each live client once; the ones that left before their mark was
	// applied are written as ended, not published again.
	republished := n1.metric(t, cluster.MetricClusterRepublished, "")
	assert.LessOrEqual(t, republished, float64(clients))
	assert.GreaterOrEqual(t, republished, float64(clients-clients/10))
	n1.stop()
}

// TestCrashMidBatch kills a node while one flush of thousands of records
// is on its way to the bucket (some slots stored, the others not yet
// sent): nothing is lost or duplicated. The records that reached the
// bucket are marked "node lost" exactly once across the two survivors
// (one event each), every list page walk shows each record once, and
// when the clients come back through the survivors each is listed once,
// connected. The crash (n1's NATS connection closed, then the node
// stopped) comes just before the flush's eighth slot write (of 24), once
// a slot is stored: a flush is a few dozen slot writes, over before a
// test could poll the bucket and then crash the node.
func TestCrashMidBatch(t *testing.T) {
	t.Parallel()
	crashMidBatch(t, func(_ *testkit.Relay, n1 *testNode) { n1.nc.Close() })
}

// TestCutBetweenSlotWrites is TestCrashMidBatch with the link cut instead
// (the relay between n1 and NATS closes its connections) at the same
// point.
func TestCutBetweenSlotWrites(t *testing.T) {
	t.Parallel()
	crashMidBatch(t, func(cut *testkit.Relay, _ *testNode) { cut.SetCut(true) })
}

// crashMidBatch runs the test of TestCrashMidBatch with crash, which cuts
// n1 off from NATS, called before n1's eighth slot write once a slot is
// stored.
func crashMidBatch(t *testing.T, crash func(*testkit.Relay, *testNode)) {
	const clients = 1500
	var (
		armed  atomic.Bool
		cutAt  atomic.Int64 // the slot write the crash came before
		done   atomic.Bool  // and the crash is over
		hookFn atomic.Pointer[func(k int)]
	)
	natsURL, cut, n1 := partitioned(t, cluster.WithBeforeSlotWrite(func(k int) {
		if f := hookFn.Load(); f != nil {
			(*f)(k)
		}
	}))
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
	hook := func(k int) {
		if !armed.Load() || k < 7 || !cutAt.CompareAndSwap(0, int64(k)) {
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for inBucket() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		crash(cut, n1)
		done.Store(true)
	}
	hookFn.Store(&hook)
	armed.Store(true)
	cut.SetCut(false)
	require.Eventually(t, done.Load, time.Minute, time.Millisecond, "n1's flush reached its eighth slot write")
	require.NotZero(t, inBucket(), "n1's batch never reached the bucket")
	n1.crash()
	// The survivors start after the crash: had they watched n1's late
	// heartbeat after the heal, they could have marked records n1 then
	// published again, and a record is rightly marked twice.
	n2 := startNodeWith(t, natsURL, "n2", idleClients(), cluster.WithChanges(record))
	n3 := startNodeWith(t, natsURL, "n3", idleClients(), cluster.WithChanges(record))

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
