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
// it had never been there, while those holding records stayed.
func TestNATSDownStatsKeepsANodeWithoutRecords(t *testing.T) {
	ns, _ := restartableNATS(t)
	url := ns.ClientURL()
	n1 := startNode(t, url, "n1")
	startNode(t, url, "n2") // holds no client
	n3 := startNode(t, url, "n3")
	register(t, n3.srv.Addr(), "far-1")
	states := func() map[string]string {
		var st admin.StatsResponse
		status, _, _ := n1.httpGet(t, "/v1/stats", &st)
		require.Equal(t, http.StatusOK, status)
		out := map[string]string{}
		for _, n := range st.Nodes {
			out[n.Node] = n.State
		}
		return out
	}
	eventually(t, func() bool {
		s := states()
		return s["n2"] == admin.NodeUp && s["n3"] == admin.NodeUp && n1.listed(t, "far-1")
	}, "n1 sees n2 and n3 up, and n3's client")

	ns.Shutdown()
	ns.WaitForShutdown()
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterNATSConnected, "") == 0 },
		"n1 sees NATS away")
	assert.Equal(t, map[string]string{"n1": admin.NodeUp, "n2": admin.NodeUnreachable, "n3": admin.NodeUnreachable},
		states(), "every node n1 knew, unreachable; n2 holds no record")
}
