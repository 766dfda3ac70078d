package cluster_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// A command whose NATS connection goes down between route's look and
// the request (a move off a stopped server) is refused in the words of
// one seen down: "NATS does not answer". It said "can not be reached;
// try again later: nats: server is disconnected", which
// TestR3SurvivesOneNATSServer's kick did not take for either of its two
// documented 503s (CI under load).
func TestCommandOnAConnectionGoneDownSaysNATSDoesNotAnswer(t *testing.T) {
	url := runNATS(t)
	n1 := startNode(t, url, "n1")
	n1.nc.Close()
	err := n1.node.RequestKick("n2", "some-client")
	require.ErrorIs(t, err, registry.ErrUnavailable)
	assert.Contains(t, err.Error(), "NATS does not answer, so node n2 can not be asked")
}
