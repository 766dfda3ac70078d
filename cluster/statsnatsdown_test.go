package cluster_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
)

// With NATS away, GET /v1/stats lists every node it knew alive as
// unreachable (docs/cluster.md, "When NATS does not answer"), one that
// holds no record included: such a node was left out of the list, as if
// it had never been there, while those holding records stayed. Before,
// with NATS up, a node that stopped is down (not asked: asking it would
// have made it unreachable) with its records, none of them connected.
func TestNATSDownStatsKeepsANodeWithoutRecords(t *testing.T) {
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
		for _, n := range st.Nodes {
			out[n.Node] = n
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
}
