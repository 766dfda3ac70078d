package cluster_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
)

// A client that moves from node 1 to node 2 has its client.connected from
// node 2 before node 1's client.disconnected (replaced) in the cluster's
// log: the takeover happened first, the close it caused after (EVENTS.md:
// one client ID's events in the order they happened). Two nodes publish
// them, so node 2 orders them (cluster.Node.SetEventBarrier). Here node
// 2's record writes are behind (a reconnect storm: a thousand other
// clients and a slow bucket), so its event writer would hold back for
// them (events.WithHoldWhile), while node 1 publishes its closes at once.
func TestTakeoverDuringARecordBacklogEventsInOrder(t *testing.T) {
	url := runNATS(t)
	storm := node.WithReactorOptions(append(idleClients(), reactor.WithMaxHandshakesPerIP(2000))...)
	n1 := startNodeOpts(t, url, "tb-1", node.WithEventRetention(100000), storm)
	var slow, gated atomic.Bool
	gate := make(chan struct{})
	n2 := startNodeOpts(t, url, "tb-2", node.WithEventRetention(100000), storm,
		node.WithClusterOptions(cluster.WithBeforeSlotWrite(func(int) {
			if gated.CompareAndSwap(true, false) {
				<-gate
			}
			if slow.Load() {
				time.Sleep(50 * time.Millisecond)
			}
		})))
	// Opened at the latest when the test ends: a registerAll that fails
	// the test before the gate opens left node 2's writer held for good,
	// and its stop in the cleanup hung the package until its timeout.
	var opened sync.Once
	openGate := func() { opened.Do(func() { close(gate) }) }
	t.Cleanup(openGate)
	movers := numbered("tb-dev-", 100)
	registerAll(t, n1.srv.Addr(), movers)
	eventually(t, func() bool { return len(n2.listAll(t, "connected", 0)) == len(movers) }, "node 2 sees the clients on node 1")
	// The storm's records queue behind one held write, so that the next
	// flush is a large one however slowly a busy machine registers them
	// (trickled in, each flush was under a publish window: never behind).
	slow.Store(true)
	gated.Store(true)
	registerAll(t, n2.srv.Addr(), numbered("tb-fill-", 1200))
	openGate()
	eventually(t, n2.node.Backlogged, "node 2's record writes behind")
	registerAll(t, n2.srv.Addr(), movers)
	slow.Store(false)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	late := 0
	for _, cid := range movers {
		ev := eventsOfCID(t, ctx, n2.api, cid, 3)
		moved, replaced := ev[1], ev[2]
		if moved.Type != events.TypeConnected {
			moved, replaced = replaced, moved
		}
		require.Equal(t, events.TypeConnected, moved.Type, "%v", ev)
		require.Equal(t, events.TypeDisconnected, replaced.Type, "%v", ev)
		assert.Equal(t, "tb-2", moved.Node)
		assert.Equal(t, protocol.ReasonReplaced.String(), *replaced.Reason)
		if replaced.Seq < moved.Seq {
			late++
		}
	}
	assert.Zero(t, late, "clients whose close came before the takeover that caused it, of %d", len(movers))
	assert.Positive(t, n2.metric(t, cluster.MetricClusterTakeoverWaits, "stored"), "takeover flushes that waited for their events")
	assert.Zero(t, n2.metric(t, cluster.MetricClusterTakeoverWaits, "late"))
}

// numbered is n client IDs: prefix and 0 to n-1.
func numbered(prefix string, n int) []string {
	cids := make([]string, n)
	for i := range cids {
		cids[i] = prefix + strconv.Itoa(i)
	}
	return cids
}

// registerAll registers every cid on addr at once and keeps the
// connections open until the test ends.
func registerAll(t *testing.T, addr string, cids []string) {
	t.Helper()
	errs := make(chan error, len(cids))
	for _, cid := range cids {
		go func() {
			c, err := handshake(addr, cid)
			if err == nil {
				t.Cleanup(func() { _ = c.Close() })
			}
			errs <- err
		}()
	}
	for range cids {
		require.NoError(t, <-errs)
	}
}

// A takeover whose node's event log does not store its events (a stream
// without quorum) waits for them at most 2 s: then its record goes anyway,
// the old node closes its session, and the wait counts as "late"
// (docs/cluster.md, cliser_cluster_takeover_event_waits_total).
func TestTakeoverWhoseEventsAreNotStoredGoesLate(t *testing.T) {
	url := runNATS(t)
	n1, n2 := startNode(t, url, "n1"), startNode(t, url, "n2")
	n2.node.SetEventBarrier(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	register(t, n1.srv.Addr(), "late-1")
	eventually(t, func() bool { return n2.listed(t, "late-1") }, "n2 sees the client on n1")
	register(t, n2.srv.Addr(), "late-1")
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterTakeovers, "") == 1 },
		"n1 closes its session: the takeover was written after its wait")
	assert.GreaterOrEqual(t, n2.metric(t, cluster.MetricClusterTakeoverWaits, "late"), 1.0)
	assert.Zero(t, n2.metric(t, cluster.MetricClusterTakeoverWaits, "stored"))
}

// eventsOfCID waits until the log holds n events of cid and returns them
// in log order.
func eventsOfCID(t testing.TB, ctx context.Context, api *admin.Client, cid string, n int) []events.Event {
	t.Helper()
	var got []events.Event
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		page, err := api.Events(ctx, nil, 100, admin.EventsFilter{CID: cid}, 0)
		if !assert.NoError(c, err) {
			return
		}
		got = page.Events
		assert.GreaterOrEqual(c, len(got), n, "events of %s: %v", cid, got)
	}, 10*time.Second, 10*time.Millisecond, "%d events of %s", n, cid)
	return got
}

// A client that moves from a node that has just died to a live one, before
// the node is judged lost, still gets its client.disconnected (node lost)
// for the session on the dead node, once: no node is left to say
// "replaced", and the lost node's record of it was no longer the client's
// newest (EVENTS.md: a registered connection ended, for any reason, has
// one). Before, that session stayed open in the log and the history.
func TestSessionOfALostNodeClosedAfterItsClientMoved(t *testing.T) {
	t.Parallel()
	url := runNATS(t)
	n1 := startNodeOpts(t, url, "ml-1", node.WithEventRetention(10000))
	n3 := startNodeOpts(t, url, "ml-3", node.WithEventRetention(10000))
	const cid = "ml-dev"
	register(t, n3.srv.Addr(), cid)
	eventually(t, func() bool { return n1.listed(t, cid) }, "n1 sees %s on n3", cid)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := eventsOfCID(t, ctx, n1.api, cid, 1)[0]
	n3.nc.Close() // n3 dies to the cluster (crash's first step; its stop follows at cleanup)
	register(t, n1.srv.Addr(), cid)

	var ended []events.Event
	eventually(t, func() bool {
		ended = ended[:0]
		for _, e := range eventsOfCID(t, ctx, n1.api, cid, 2) {
			if e.Type == events.TypeDisconnected && e.Session == first.Session {
				ended = append(ended, e)
			}
		}
		return len(ended) > 0
	}, "the session on the lost node ends in the log")
	require.Len(t, ended, 1)
	assert.Equal(t, protocol.ReasonNodeLost.String(), *ended[0].Reason)
	assert.Equal(t, "ml-3", ended[0].Node)
	hist, err := n1.api.History(ctx, cid, 10)
	require.NoError(t, err)
	require.Len(t, hist.Sessions, 2)
	assert.Equal(t, protocol.ReasonNodeLost.String(), hist.Sessions[1].Reason, "the older session, in the history too")
}
