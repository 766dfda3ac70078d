package cluster_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
)

// With NATS away, GET /v1/stats lists every node it knew alive as
// unreachable (docs/cluster.md, "When NATS does not answer"), one that
// holds no record included: such a node was left out of the list, as if
// it had never been there, while those holding records stayed. Before,
// with NATS up, a node that stopped is down (not asked: asking it would
// have made it unreachable) with its records, none of them connected.
// The list is in name order throughout. n1 then stops cleanly, NATS still
// away.
func TestNATSDownStatsKeepsANodeWithoutRecords(t *testing.T) {
	t.Parallel()
	ns, _ := restartableNATS(t)
	url := ns.ClientURL()
	n1 := startNode(t, url, "n1")
	startNode(t, url, "n2") // holds no client
	n3 := startNode(t, url, "n3")
	n4 := startNode(t, url, "n4") // stops holding one client
	register(t, n3.srv.Addr(), "far-1")
	register(t, n4.srv.Addr(), "gone-1")
	stats := func() map[string]admin.NodeStats {
		var st admin.StatsResponse
		status, _, _ := n1.httpGet(t, "/v1/stats", &st)
		require.Equal(t, http.StatusOK, status)
		out := map[string]admin.NodeStats{}
		for i, n := range st.Nodes {
			out[n.Node] = n
			if i > 0 {
				require.Less(t, st.Nodes[i-1].Node, n.Node, "the nodes in name order (docs/operations.md)")
			}
		}
		return out
	}
	states := func() map[string]string {
		out := map[string]string{}
		for id, n := range stats() {
			out[id] = n.State
		}
		return out
	}
	eventually(t, func() bool {
		s := states()
		return s["n2"] == admin.NodeUp && s["n3"] == admin.NodeUp && s["n4"] == admin.NodeUp &&
			n1.listed(t, "far-1") && n1.listed(t, "gone-1")
	}, "n1 sees n2, n3 and n4 up, and their clients")

	n4.stop()
	eventually(t, func() bool {
		s := stats()["n4"]
		return s.State == admin.NodeDown && s.Records == 1 && s.Connected == 0
	}, "n1 sees n4 down, its record kept and not connected: %+v", stats()["n4"])

	ns.Shutdown()
	ns.WaitForShutdown()
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterNATSConnected, "") == 0 },
		"n1 sees NATS away")
	assert.Equal(t, map[string]string{"n1": admin.NodeUp, "n2": admin.NodeUnreachable, "n3": admin.NodeUnreachable,
		"n4": admin.NodeUnreachable}, states(), "every node n1 knew or that holds a record, unreachable; n2 holds no record")

	// A stop with NATS away leaves the heartbeat to age out: no delete that
	// could only wait out its timeout and fail the stop.
	n1.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, n1.n.Shutdown(ctx))
}

// A node with a live heartbeat that takes the request for its figures and
// never answers (a node stuck, or NATS without quorum taking requests) is
// unreachable on GET /v1/stats, and the page does not wait on it for long:
// each node is asked for at most a second. The bound leaves room for load;
// a mutant that waited 10 s still fails it.
func TestStatsOfANodeThatDoesNotAnswerComeInTime(t *testing.T) {
	url := runNATS(t)
	n1 := startNode(t, url, "n1")
	nc, _ := testkit.JetStream(t, url)
	_, err := nc.SubscribeSync(cluster.DefaultSubjectPrefix + ".node.ghost.stats") // takes, never answers
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	nodes := bucketKV(t, url, cluster.DefaultNodesBucket)
	var ghost admin.NodeStats
	var took time.Duration
	eventually(t, func() bool {
		// Beaten again at each try: the tests' heartbeat ages out in 1 s.
		_, err := nodes.Put(context.Background(), "ghost", []byte("{}"))
		require.NoError(t, err)
		var st admin.StatsResponse
		var status int
		status, _, took = n1.httpGet(t, "/v1/stats", &st)
		require.Equal(t, http.StatusOK, status)
		for _, n := range st.Nodes {
			if n.Node == "ghost" {
				ghost = n
				return true
			}
		}
		return false
	}, "n1 lists the ghost")
	assert.Equal(t, admin.NodeUnreachable, ghost.State)
	assert.NotEmpty(t, ghost.Error)
	assert.Less(t, took, 7*time.Second, "the page waited on the ghost past its second")
}
