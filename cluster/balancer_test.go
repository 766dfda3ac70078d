package cluster_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/internal/testkit"
)

// The deployment's shape in one process: agents know one address, a real
// HAProxy's, in front of three nodes. When the node holding some of them
// is stopped hard, they come back through HAProxy on the other two, and
// the cluster's list ends with every agent once, connected, on a live
// node. Skipped, saying so, without haproxy on PATH.
func TestAgentsMoveThroughBalancer(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not on PATH")
	}
	url := runNATS(t)
	nodes := startNodes(t, url, "n1", "n2", "n3")
	front := testkit.FreeAddr(t)
	cfg := fmt.Sprintf(`global
    maxconn 1000
defaults
    mode tcp
    timeout connect 1s
    timeout client 5m
    timeout server 5m
    retries 3
    option redispatch
frontend cliser
    bind %s
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
`, front)
	for _, tn := range nodes {
		_, adminPort, err := net.SplitHostPort(tn.n.AdminAddr())
		require.NoError(t, err)
		cfg += fmt.Sprintf("    server %s %s check port %s inter 100ms fall 1 rise 1\n", tn.id, tn.srv.Addr(), adminPort)
	}
	cfgPath := filepath.Join(t.TempDir(), "haproxy.cfg")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	testkit.HAProxy(t, bin, cfgPath, front)

	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	const agents = 6
	for i := range agents {
		go func() {
			_ = client.Run(ctx, client.Config{Addr: front, Password: testPassword, ID: fmt.Sprintf("lb-%d", i)},
				client.Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond}, nil)
		}()
	}
	holders := func() map[string]string {
		out := map[string]string{}
		for _, r := range nodes[0].listAll(t, "connected", 0) {
			out[r.CID] = r.Node
		}
		return out
	}
	eventually(t, func() bool { return len(holders()) == agents }, "every agent connected through HAProxy")
	perNode := map[string]int{}
	for _, node := range holders() {
		perNode[node]++
	}
	require.Greater(t, perNode["n2"], 0, "round robin spread the agents: %v", perNode)

	nodes[1].crash()
	eventually(t, func() bool {
		h := holders()
		if len(h) != agents {
			return false
		}
		for _, node := range h {
			if node == "n2" {
				return false
			}
		}
		return true
	}, "n2's agents registered on n1 or n3 through HAProxy")
	all := nodes[0].listAll(t, "all", 1)
	assert.Len(t, all, agents, "every agent once: no record lost or duplicated")
	for _, r := range all {
		assert.True(t, r.CStatus, "%s connected", r.CID)
	}
}
