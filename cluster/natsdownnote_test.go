package cluster_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// While NATS does not answer a node, its /v1/health says so in its
// "cluster" note, and the note goes once NATS answers again. Before, the
// only note was the event log's ("publishing ... is failing"), none with
// the event log off: the dashboard's banner and `cliser status` did not
// say that the node's lists were stale and that commands to other nodes'
// clients were refused (cluster audit).
func TestHealthNotesANATSOutage(t *testing.T) {
	ns, restart := restartableNATS(t)
	n1 := startNode(t, ns.ClientURL(), "hn-1")
	clusterNote := func() string {
		resp, err := http.Get("http://" + n1.n.AdminAddr() + "/v1/health")
		require.NoError(t, err)
		defer resp.Body.Close()
		var h struct {
			Notes map[string]string `json:"notes"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&h))
		return h.Notes["cluster"]
	}
	eventually(t, func() bool { return clusterNote() == "" }, "no note while NATS answers")

	stopNATS(t, ns, n1)
	eventually(t, func() bool {
		note := clusterNote()
		return strings.Contains(note, "NATS does not answer") && strings.Contains(note, "stale")
	}, "the note says NATS does not answer")

	restart()
	eventually(t, func() bool { return clusterNote() == "" }, "the note goes once NATS answers")
}
