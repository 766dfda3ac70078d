package cluster_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
)

// The "done when", in one process: a real embedded nats-server
// with JetStream and three cliser nodes (reactor, registry, admin API each).
func TestThreeNodes(t *testing.T) {
	url := runNATS(t)
	// n1 and n2's logs are read too: the line of a lost node's marks.
	var marks [2]*observer.ObservedLogs
	withMarks := func(i int, id string) node.Option {
		core, logs := observer.New(zap.InfoLevel)
		marks[i] = logs
		return node.WithLogger(zap.New(zapcore.NewTee(zaptest.NewLogger(t).Named(id).Core(), core)))
	}
	nodes := []*testNode{startNodeOpts(t, url, "n1", withMarks(0, "n1")), startNodeOpts(t, url, "n2", withMarks(1, "n2")),
		startNode(t, url, "n3")}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	ctx := context.Background()
	// Agents run to the end of the test: shutdown-all reaches them.
	agentCtx, stopAgents := context.WithCancel(ctx)
	t.Cleanup(stopAgents)

	// Clients on different nodes appear in one list from any node. The ids
	// use ':' '@' '.', which a bucket key can not hold as they are.
	a := register(t, n1.srv.Addr(), "a-1")
	b := register(t, n2.srv.Addr(), "b:2")
	c := register(t, n3.srv.Addr(), "c@3")
	d := register(t, n3.srv.Addr(), "d.3")
	x := register(t, n3.srv.Addr(), "x-3")
	want := map[string]string{"a-1": "n1", "b:2": "n2", "c@3": "n3", "d.3": "n3", "x-3": "n3"}
	for _, tn := range nodes {
		eventually(t, func() bool {
			got := map[string]string{}
			for _, r := range tn.listAll(t, "connected", 2) { // pages of 2: the cursor too
				got[r.CID] = r.Node
			}
			return assert.ObjectsAreEqual(want, got)
		}, "node %s lists every node's clients", tn.id)
	}
	rec, ok := n1.record(t, "c@3")
	require.True(t, ok)
	assert.Equal(t, "n3", rec.Node)
	assert.True(t, rec.CStatus)
	assert.Equal(t, "127.0.0.1", rec.CIP)

	t.Run("kick through node 1 reaches a client on node 3", func(t *testing.T) {
		got, err := n1.api.Kick(ctx, "c@3")
		require.NoError(t, err)
		assert.Equal(t, "kick", got.Command)
		c.ExpectClosed("190 " + protocol.ReasonKicked.String())
		eventually(t, func() bool {
			r, ok := n2.record(t, "c@3")
			return ok && !r.CStatus && r.Reason == "kicked" && r.Node == "n3"
		}, "the kick shows in the cluster's record")
		// Not connected any more: 404 from any node.
		_, err = n1.api.Kick(ctx, "c@3")
		var se *admin.StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 404, se.Status)
	})

	t.Run("shutdown through node 1 reaches a client on node 3", func(t *testing.T) {
		_, err := n1.api.Shutdown(ctx, "d.3", "maintenance")
		require.NoError(t, err)
		d.Expect("130 shutdown maintenance")
		d.Send("130 ok\n")
		d.ExpectClosed()
		eventually(t, func() bool {
			r, ok := n1.record(t, "d.3")
			return ok && !r.CStatus && r.Reason == "shutdown"
		}, "the shutdown shows in the cluster's record")
	})

	t.Run("takeover from node 1 to node 2", func(t *testing.T) {
		old := register(t, n1.srv.Addr(), "t-1")
		eventually(t, func() bool { r, ok := n3.record(t, "t-1"); return ok && r.Node == "n1" && r.CStatus },
			"registration on node 1 published")
		fresh := register(t, n2.srv.Addr(), "t-1")
		old.ExpectClosed("190 " + protocol.ReasonReplaced.String())
		eventually(t, func() bool {
			r, ok := n1.reg.Get("t-1")
			return ok && !r.CStatus && r.Reason == protocol.ReasonReplaced
		}, "node 1's session ended as replaced")
		// Node 1 has written its side (flushed) and must not have clobbered
		// node 2's registration.
		require.NoError(t, n1.reg.Flush())
		require.NoError(t, n2.reg.Flush())
		for _, tn := range nodes {
			eventually(t, func() bool {
				r, ok := tn.record(t, "t-1")
				return ok && r.CStatus && r.Node == "n2"
			}, "node %s sees t-1 on node 2", tn.id)
		}
		_, err := n1.api.Kick(ctx, "t-1") // routed to node 2 from node 1
		require.NoError(t, err)
		fresh.ExpectClosed("190 " + protocol.ReasonKicked.String())
		assert.Equal(t, 1.0, n1.metric(t, cluster.MetricClusterTakeovers, ""))
		assert.GreaterOrEqual(t, n1.metric(t, cluster.MetricClusterWrites, "held elsewhere"), 1.0,
			"node 1's disconnect of t-1 was not written over node 2's registration")
		assert.GreaterOrEqual(t, n1.metric(t, cluster.MetricClusterRouted, ""), 3.0) // kick, shutdown, kick
	})

	t.Run("a node stopped hard: its clients turn node lost and reconnect elsewhere", func(t *testing.T) {
		log := zaptest.NewLogger(t)
		connected := make(chan string, 4)
		agent := func(addr string) {
			cfg := client.Config{Addr: addr, Password: testPassword, ID: "agent-7", Logger: log}
			_ = client.Run(agentCtx, cfg, client.Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond}, func(e client.Event) {
				if _, ok := e.(client.Connected); ok {
					connected <- addr
				}
			})
		}
		go agent(n3.srv.Addr())
		require.Equal(t, n3.srv.Addr(), waitFor(t, connected))
		eventually(t, func() bool { r, ok := n1.record(t, "agent-7"); return ok && r.Node == "n3" && r.CStatus },
			"agent registered on node 3")

		lostAt := time.Now()
		n3.crash()
		for _, cid := range []string{"agent-7", "x-3"} {
			eventually(t, func() bool {
				r, ok := n1.record(t, cid)
				return ok && !r.CStatus && r.Reason == protocol.ReasonNodeLost.String() && r.Node == "n3"
			}, "%s marked node lost", cid)
		}
		t.Logf("node lost marked %v after the crash (heartbeat TTL 1s)", time.Since(lostAt).Round(10*time.Millisecond))
		// A survivor counts its marks once their writes are acknowledged,
		// which may be after the watch showed them to node 1.
		markedLost := func() float64 {
			return n1.metric(t, cluster.MetricClusterMarkedLost, "") + n2.metric(t, cluster.MetricClusterMarkedLost, "")
		}
		eventually(t, func() bool { return markedLost() >= 2 }, "the lost records counted")
		eventually(t, func() bool { return n2.metric(t, cluster.MetricClusterNodes, "") == 2 }, "two nodes left")
		x.ExpectClosed("190 " + protocol.ReasonServerShuttingDown.String())
		assert.Equal(t, 2.0, markedLost(), "each lost record marked once, by one survivor")
		// The lost node, named once (it was once a record: 65,535 names for
		// a full node); the survivors counted alive.
		said := append(marks[0].FilterMessage("cluster: records of lost nodes marked").All(),
			marks[1].FilterMessage("cluster: records of lost nodes marked").All()...)
		require.Len(t, said, 1)
		fields := said[0].ContextMap()
		assert.EqualValues(t, 2, fields["records"])
		assert.Equal(t, []any{"n3"}, fields["nodes"])
		assert.EqualValues(t, 2, fields["alive"])

		// The agent's reconnect lands on another node (client.Run has one
		// address: a second runner is given node 1's, as a balancer would).
		go agent(n1.srv.Addr())
		require.Equal(t, n1.srv.Addr(), waitFor(t, connected))
		eventually(t, func() bool { r, ok := n2.record(t, "agent-7"); return ok && r.Node == "n1" && r.CStatus },
			"agent re-registered on node 1")
	})

	t.Run("no record lost or duplicated", func(t *testing.T) {
		want := []string{"a-1", "agent-7", "b:2", "c@3", "d.3", "t-1", "x-3"}
		eventually(t, func() bool {
			return n1.metric(t, cluster.MetricClusterRecords, "") == float64(len(want)) &&
				n2.metric(t, cluster.MetricClusterConnected, "") == 3
		}, "cluster gauges")
		for _, tn := range []*testNode{n1, n2} {
			var got []string
			for _, r := range tn.listAll(t, "all", 1) {
				got = append(got, r.CID)
			}
			assert.True(t, sort.StringsAreSorted(got), "cid order: %v", got)
			assert.Equal(t, want, got, "node %s", tn.id)
		}
	})

	t.Run("shutdown-all through node 2 reaches every live node and sums sent", func(t *testing.T) {
		want := []string{"a-1", "agent-7", "b:2"} // on n1, n1, n2
		eventually(t, func() bool {
			var live []string
			for _, r := range n2.listAll(t, "connected", 0) {
				live = append(live, r.CID)
			}
			return assert.ObjectsAreEqual(want, live)
		}, "the live clients listed")
		// A node whose NATS was late (a heartbeat timed out under load)
		// refuses with the documented 503, before sending to anyone; the
		// operator tries again.
		var got admin.ShutdownAllResponse
		eventually(t, func() bool {
			var err error
			got, err = n2.api.ShutdownAll(ctx, "cluster drain")
			if refusal(err) {
				t.Logf("shutdown-all: %v; again", err)
				return false
			}
			require.NoError(t, err)
			return true
		}, "shutdown-all accepted")
		assert.Equal(t, len(want), got.Sent)
		for _, rc := range []*testkit.RawClient{a, b} {
			rc.Expect("130 shutdown cluster drain")
			rc.Send("130 ok\n")
			rc.ExpectClosed()
		}
	})
}

func waitFor(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatal("timed out")
		return ""
	}
}
