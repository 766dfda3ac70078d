package cluster_test

import (
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/protocol"
)

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
	for i := range clients {
		overwrite(t, kv, cid(i), map[string]any{"cstatus": false, "reason": "node lost", "disconnected_at": time.Now().UTC()})
	}

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
		for i := range clients {
			doc := bucketDoc(t, kv, cid(i))
			connected, reason := want(i)
			if doc["cstatus"] != connected || doc["reason"] != reason {
				if bad == 0 {
					wrong = fmt.Sprintf("the first wrong: %s %v", cid(i), doc)
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
