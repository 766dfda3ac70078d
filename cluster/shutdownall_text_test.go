package cluster_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/protocol"
)

// A shutdown of every client refused while NATS is away says so in its
// own words: every client in the cluster, none told. Before, its 503 (and
// so `cliser clients shutdown --all`) began with the single-client text,
// "the node that holds the client can not be reached" (logs audit).
func TestShutdownAllRefusalSpeaksOfEveryClient(t *testing.T) {
	ns, _ := restartableNATS(t)
	n1 := startNode(t, ns.ClientURL(), "n1")
	near := register(t, n1.srv.Addr(), "near-1")
	stopNATS(t, ns, n1)

	_, err := n1.api.ShutdownAll(context.Background(), "all of them")
	var se *admin.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusServiceUnavailable, se.Status)
	assert.Contains(t, se.Message, "every client in the cluster")
	assert.Contains(t, se.Message, "NATS does not answer")
	assert.NotContains(t, se.Message, "the node that holds the client")

	// Nothing was sent: this node's own client, told by a kick now, got no 130.
	_, err = n1.api.Kick(context.Background(), "near-1")
	require.NoError(t, err)
	near.ExpectClosed("190 " + protocol.ReasonKicked.String())
}
