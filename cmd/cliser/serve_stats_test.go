package main

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// Three serve processes on one embedded nats-server: GET /v1/stats on any
// of them lists every node with its own connected count; a node that
// stops shows as down, still holding its (now disconnected) records; with
// NATS away the others are unreachable.
func TestBinaryClusterStatsNodes(t *testing.T) {
	ns := testkit.NATS(t)
	names := []string{"n1", "n2", "n3"}
	served := map[string]*testkit.Served{}
	for _, name := range names {
		served[name] = testkit.Serve(t, []string{"CLISER_PASSWORD=st-secret"},
			"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--keepalive-interval", "1h",
			"--cluster", ns.ClientURL(), "--node-id", name, "--cluster-heartbeat", "2s")
	}
	// n1 holds 1 client, n2 holds 2, n3 holds 3.
	for i, name := range names {
		for j := 0; j <= i; j++ {
			testkit.Dial(t, served[name].Addr).Register("st-secret", fmt.Sprintf("st-%s-%d", name, j))
		}
	}
	want := map[string]int{"n1": 1, "n2": 2, "n3": 3}
	api, err := admin.NewClient("http://"+served["n1"].AdminAddr, "", 5*time.Second)
	require.NoError(t, err)
	waitNodes(t, api, func(nodes map[string]admin.NodeStats) bool {
		for name, c := range want {
			s, ok := nodes[name]
			if !ok || s.State != admin.NodeUp || s.Connected != c || s.Records != c {
				return false
			}
		}
		return len(nodes) == 3
	})

	require.NoError(t, served["n3"].Cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, served["n3"].Wait(t))
	nodes := waitNodes(t, api, func(nodes map[string]admin.NodeStats) bool {
		s := nodes["n3"]
		return s.State == admin.NodeDown && s.Connected == 0 && nodes["n2"].State == admin.NodeUp
	})
	assert.Equal(t, 3, nodes["n3"].Records, "a stopped node's records stay in the bucket")
	assert.Equal(t, 2, nodes["n2"].Connected)

	// NATS away: no other node's liveness can be read; n1 still answers
	// for itself.
	ns.Shutdown()
	nodes = waitNodes(t, api, func(nodes map[string]admin.NodeStats) bool {
		return nodes["n1"].State == admin.NodeUp && nodes["n2"].State == admin.NodeUnreachable && nodes["n2"].Error != ""
	})
	assert.Equal(t, 1, nodes["n1"].Connected)
	assert.Equal(t, admin.NodeUnreachable, nodes["n3"].State, "with NATS away a node's liveness is unknown")
}

// waitNodes polls GET /v1/stats until ok holds of its nodes list (by
// name) and returns that list; it fails the test after 20 s.
func waitNodes(t *testing.T, api *admin.Client, ok func(map[string]admin.NodeStats) bool) map[string]admin.NodeStats {
	t.Helper()
	var last admin.StatsResponse
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, err := api.Stats(context.Background())
		if err == nil {
			last = st
			by := map[string]admin.NodeStats{}
			for _, s := range st.Nodes {
				by[s.Node] = s
			}
			if ok(by) {
				return by
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stats nodes never as wanted; last: %+v", last.Nodes)
	return nil
}
