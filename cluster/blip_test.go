package cluster_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/protocol"
)

// gate parks the loops that call wait while it is held: a test's way to
// keep a node idle between two rounds of its heartbeat or its checks.
type gate struct {
	mu     sync.Mutex
	held   chan struct{} // closed by release; nil while open
	parked int           // callers waiting now
	passed int           // calls that returned
}

func (g *gate) wait() {
	g.mu.Lock()
	held := g.held
	if held != nil {
		g.parked++
		g.mu.Unlock()
		<-held
		g.mu.Lock()
		g.parked--
	}
	g.passed++
	g.mu.Unlock()
}

func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = make(chan struct{})
	}
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

func (g *gate) counts() (parked, passed int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.parked, g.passed
}

// keyGone: the heartbeat key of node has aged out of the nodes bucket.
func keyGone(t testing.TB, nodes jetstream.KeyValue, node string) bool {
	t.Helper()
	_, err := nodes.Get(context.Background(), node)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return true
	}
	require.NoError(t, err)
	return false
}

// NATS restarts while the judging node (n2) is idle between two checks and
// two beats, so none of its own operations fail. Meanwhile the heartbeats
// age out: n3's (it died), and n1's, whose renewal is late across the blip
// (held here until n2 has checked once after it: the stand-in for beats
// that failed or waited while NATS was away, or a key the restarted NATS
// lost). n2 must give the others a heartbeat TTL from the reconnect, as
// after an outage it saw: n1's live client is not marked "node lost",
// while n3's client is, once the grace is over.
func TestNATSBlipBetweenChecks(t *testing.T) {
	t.Parallel()
	const ttl = time.Second // startNodeOpts' heartbeat
	ns, restartNATS := restartableNATS(t)
	url := ns.ClientURL()
	judgeBeats, judgeChecks, liveBeats, liveChecks := &gate{}, &gate{}, &gate{}, &gate{}
	liveChecks.hold() // n1 never judges: the marks are n2's alone
	n1 := startNode(t, url, "n1", cluster.WithBeforeBeat(liveBeats.wait), cluster.WithBeforeCheck(liveChecks.wait))
	n2 := startNode(t, url, "n2", cluster.WithBeforeBeat(judgeBeats.wait), cluster.WithBeforeCheck(judgeChecks.wait))
	n3 := startNode(t, url, "n3")
	t.Cleanup(func() { // before the nodes' stops, which wait for their loops
		for _, g := range []*gate{judgeBeats, judgeChecks, liveBeats, liveChecks} {
			g.release()
		}
	})
	register(t, n1.srv.Addr(), "live-1")
	register(t, n3.srv.Addr(), "dead-1")
	eventually(t, func() bool { return n2.listed(t, "live-1") && n2.listed(t, "dead-1") }, "both listed on n2")

	parkIdle(t, judgeBeats, judgeChecks)
	parked := time.Now()
	require.Equal(t, 1.0, n2.metric(t, cluster.MetricClusterNATSConnected, ""), "n2 parked healthy")
	n3.crash()
	parkIdle(t, liveBeats)
	reconnects := n2.nc.Stats().Reconnects
	ns.Shutdown()
	ns.WaitForShutdown()
	restartNATS()
	eventually(t, func() bool { return n2.nc.Stats().Reconnects > reconnects && n2.nc.IsConnected() },
		"n2 reconnected while idle")
	require.Equal(t, float64(n2.nc.Stats().Reconnects), n2.metric(t, cluster.MetricClusterNATSReconnects, ""),
		"the blip is counted")
	require.Positive(t, n2.metric(t, cluster.MetricClusterNATSReconnects, ""))
	nodes := bucketKV(t, url, cluster.DefaultNodesBucket)
	eventually(t, func() bool {
		// Past a TTL since n2's last operation, so that only the blip can
		// start a grace.
		return time.Since(parked) > ttl && keyGone(t, nodes, "n1") && keyGone(t, nodes, "n3")
	}, "n1's and n3's heartbeats aged out")

	judgeBeats.release()
	judgeChecks.release()
	resumed := time.Now()
	awaitPasses(t, judgeChecks, 2, "n2 checked once since")
	liveBeats.release()

	// Grace (a TTL) plus the documented bound on marking a lost node's
	// clients (1.5 TTLs): n2 still judges after the blip.
	kv := clientsKV(t, url)
	require.Eventually(t, func() bool {
		// A read between a mark's writes may miss the record: not yet, not
		// a failure (a require here, off the test's goroutine, was both).
		r, ok := bucketRecords(t, kv)["dead-1"]
		return ok && !r.CStatus && r.Reason == protocol.ReasonNodeLost
	}, time.Until(resumed.Add(ttl+3*ttl/2)), 10*time.Millisecond, "n3's client marked node lost")
	awaitPasses(t, judgeChecks, 2, "n2 checked again since")
	assert.Equal(t, 1.0, n2.metric(t, cluster.MetricClusterMarkedLost, ""), "only n3's client marked")
	assert.Equal(t, 0.0, n1.metric(t, cluster.MetricClusterRepublished, ""), "a live node's client marked lost")
	assert.True(t, n2.listed(t, "live-1"), "n1's live client stays connected")
	liveChecks.release()
	n1.stop() // before the second nats-server's cleanup, which was registered after theirs
	n2.stop()
}

// parkIdle waits until each gate (held by it) parks its loop.
func parkIdle(t *testing.T, gates ...*gate) {
	t.Helper()
	for _, g := range gates {
		g.hold()
	}
	eventually(t, func() bool {
		for _, g := range gates {
			if p, _ := g.counts(); p == 0 {
				return false
			}
		}
		return true
	}, "loops parked")
}

// awaitPasses waits until g's loop has passed it k more times: with k = 2,
// one whole round of the loop has run since.
func awaitPasses(t *testing.T, g *gate, k int, msg string) {
	t.Helper()
	_, from := g.counts()
	eventually(t, func() bool { _, passed := g.counts(); return passed >= from+k }, msg)
}
