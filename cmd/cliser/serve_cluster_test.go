package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// clusterFlags are the flags every node of these tests shares: loopback
// listeners on port 0 and no keep-alive traffic.
var clusterFlags = []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--keepalive-interval", "1h"}

// serveNode starts `cliser serve --node-id name` with clusterFlags, its
// own data directory and extra flags.
func serveNode(t *testing.T, env []string, name string, extra ...string) *testkit.Served {
	t.Helper()
	args := append(append([]string{}, clusterFlags...), "--node-id", name, "--data-dir", t.TempDir())
	return testkit.Serve(t, env, append(args, extra...)...)
}

// stopAll stops each node with SIGTERM and checks it exits 0 without any
// of secrets in its logs.
func stopAll(t *testing.T, nodes []*testkit.Served, secrets ...string) {
	t.Helper()
	for _, p := range nodes {
		assert.Equal(t, 0, p.Stop(t), p.LogText())
		for _, s := range secrets {
			assert.NotContains(t, p.LogText(), s, "a secret reached the logs")
		}
	}
}

// Two serve processes joined by --cluster (flag) and CLISER_CLUSTER (env)
// on a real embedded nats-server: a client of one is seen and kicked
// through the other's admin API, a third under one's --node-id exits 2,
// and both stop cleanly.
func TestBinaryClusterMode(t *testing.T) {
	ns := testkit.NATS(t)
	alpha := serveNode(t, []string{"CLISER_PASSWORD=cl-secret", "CLISER_CLUSTER=" + ns.ClientURL()}, "alpha")
	beta := serveNode(t, []string{"CLISER_PASSWORD=cl-secret"}, "beta", "--cluster", ns.ClientURL())

	c := opsConnect(t, alpha.Addr, "cl-secret", "cl-client-1")
	api := apiOf(t, beta)
	ctx := context.Background()
	require.Eventually(t, func() bool {
		page, err := api.List(ctx, "connected", "", 0, "")
		return err == nil && len(page.Clients) == 1 && page.Clients[0].CID == "cl-client-1" && page.Clients[0].Node == "alpha"
	}, 15*time.Second, 20*time.Millisecond, "beta lists alpha's client")
	_, err := api.Kick(ctx, "cl-client-1")
	require.NoError(t, err)
	c.Expect("190 kicked")

	// A third node under alpha's id is a configuration mistake: exit 2.
	out, code := testkit.Run(t, testkit.Environ([]string{"CLISER_PASSWORD"}, "CLISER_PASSWORD=cl-secret"),
		append(append([]string{"serve"}, clusterFlags...), "--node-id", "alpha", "--data-dir", t.TempDir(), "--cluster", ns.ClientURL())...)
	assert.Equal(t, 2, code, out)
	assert.Contains(t, out, "give each node its own --node-id")

	stopAll(t, []*testkit.Served{alpha, beta}, "cl-secret")
	assert.Contains(t, alpha.LogText(), `"msg":"cluster: joined"`)
}

// Two `cliser serve --cluster` processes share fleet identity through
// JetStream: a credential created through one's admin API admits on the
// other, and deleting it through the first revokes the session there.
func TestBinaryClusterSharesIdentity(t *testing.T) {
	ns := testkit.NATS(t)
	env := []string{"CLISER_PASSWORD=cl-id-shared", "CLISER_ADMIN_TOKEN="}
	alpha := serveNode(t, env, "id-alpha", "--cluster", ns.ClientURL())
	beta := serveNode(t, env, "id-beta", "--cluster", ns.ClientURL())
	ctx := context.Background()
	alphaAPI, betaAPI := apiOf(t, alpha), apiOf(t, beta)

	cred, err := alphaAPI.CreateCredential(ctx, "cl-id-dev", "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := betaAPI.GetCredential(ctx, "cl-id-dev")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "beta does not know alpha's credential")

	refused := testkit.Dial(t, beta.Addr)
	refused.Send("110 cl-id-shared\n120 cl-id-dev\n")
	refused.Expect("110 password")
	refused.Expect("120 id")
	assert.Equal(t, "190 auth failed", refused.ReadLine(), "the shared password admitted an enrolled ID")
	c := opsConnect(t, beta.Addr, cred.Secret, "cl-id-dev")

	began := time.Now()
	require.NoError(t, alphaAPI.DeleteCredential(ctx, "cl-id-dev"))
	c.Expect("190 revoked")
	assert.Less(t, time.Since(began), 2*time.Second)

	stopAll(t, []*testkit.Served{alpha, beta}, cred.Secret)
}

// The stats sampler ticks every 5 s: a disconnect shows in /v1/stats once
// a tick has seen it, so the tests poll the CLI with room for a busy box.
const statsWait = 40 * time.Second

// Two `cliser serve --cluster` nodes: status through either one shows both
// nodes, each with its own clients, and the sums above them.
func TestCLIStatusClusterPerNode(t *testing.T) {
	cliEnv(t)
	ns := testkit.NATS(t)
	env := []string{"CLISER_PASSWORD=st-secret", "CLISER_CLUSTER=" + ns.ClientURL()}
	alpha := serveNode(t, env, "alpha")
	beta := serveNode(t, env, "beta")
	opsConnect(t, alpha.Addr, "st-secret", "st-a1")
	opsConnect(t, alpha.Addr, "st-secret", "st-a2")
	opsConnect(t, beta.Addr, "st-secret", "st-b1")
	gone := opsConnect(t, beta.Addr, "st-secret", "st-b-gone")
	require.NoError(t, gone.Conn.Close())

	alphaRow := regexp.MustCompile(`(?m)^alpha\s+up\s+2\s+2\s+\d+\.\d\d\s+\S.*\s+none$`)
	betaRow := regexp.MustCompile(`(?m)^beta\s+up\s+1\s+2\s+\d+\.\d\d\s+\S.*\s+closed by client 1$`)
	var out string
	require.Eventually(t, func() bool {
		var err error
		out, _, err = runCLI(t, "status", "--admin", "http://"+alpha.AdminAddr)
		return err == nil && alphaRow.MatchString(out) && betaRow.MatchString(out)
	}, statsWait, 100*time.Millisecond, "status through alpha: %s", out)
	t.Logf("cliser status:\n%s", out)
	assert.Regexp(t, `(?m)^clients:\s+3 connected of 4 records$`, out)
	assert.Regexp(t, `(?m)^disconnects:\s+closed by client 1 over the last 5 minutes$`, out)
	assert.Regexp(t, `(?m)^NODE\s+STATE\s+CONNECTED\s+RECORDS\s+HANDSHAKES/S\s+RTT\s+DISCONNECTS$`, out)

	out, _, err := runCLI(t, "status", "--admin", "http://"+beta.AdminAddr)
	require.NoError(t, err)
	assert.Regexp(t, alphaRow, out, "beta sees alpha too")
	assert.Regexp(t, betaRow, out)

	stopAll(t, []*testkit.Served{alpha, beta})
}

// Each node's /v1/health notes travel with its figures: asked of alpha,
// cliser status said nothing of beta's full registry, which only beta's
// own /v1/health told (cluster audit).
func TestCLIStatusClusterShowsEveryNodesNotes(t *testing.T) {
	cliEnv(t)
	ns := testkit.NATS(t)
	env := []string{"CLISER_PASSWORD=st-secret", "CLISER_CLUSTER=" + ns.ClientURL()}
	alpha := serveNode(t, env, "alpha")
	beta := serveNode(t, env, "beta", "--max-clients", "1")
	opsConnect(t, beta.Addr, "st-secret", "st-b1")
	c := testkit.Dial(t, beta.Addr)
	c.Send("110 st-secret\n120 st-b2\n")
	c.ExpectClosed("110 password", "120 id", "190 server full")

	note := regexp.MustCompile(`(?m)^beta note: clients: the registry is full \(--max-clients\)`)
	var out string
	require.Eventually(t, func() bool {
		var err error
		out, _, err = runCLI(t, "status", "--admin", "http://"+alpha.AdminAddr)
		return err == nil && note.MatchString(out)
	}, statsWait, 100*time.Millisecond, "status through alpha: %s", out)
	assert.NotRegexp(t, `(?m)^alpha note:`, out, "alpha has none")
	stopAll(t, []*testkit.Served{alpha, beta})
}

// Three serve processes on one embedded nats-server: GET /v1/stats on any
// of them lists every node with its own connected count; a node that
// stops shows as down, still holding its (now disconnected) records; with
// NATS away the others are unreachable.
func TestBinaryClusterStatsNodes(t *testing.T) {
	t.Parallel()
	ns := testkit.NATS(t)
	names := []string{"n1", "n2", "n3"}
	served := map[string]*testkit.Served{}
	for _, name := range names {
		served[name] = serveNode(t, []string{"CLISER_PASSWORD=st-secret"}, name,
			"--cluster", ns.ClientURL(), "--cluster-heartbeat", "2s")
	}
	// n1 holds 1 client, n2 holds 2, n3 holds 3.
	for i, name := range names {
		for j := 0; j <= i; j++ {
			testkit.Dial(t, served[name].Addr).Register("st-secret", fmt.Sprintf("st-%s-%d", name, j))
		}
	}
	checkClusterStats(t, ns, apiOf(t, served["n1"]), served["n3"])
}

// checkClusterStats follows n1's view of the three nodes while n3 stops
// and then NATS goes away.
func checkClusterStats(t *testing.T, ns *server.Server, api *admin.Client, n3 *testkit.Served) {
	t.Helper()
	want := map[string]int{"n1": 1, "n2": 2, "n3": 3}
	waitNodes(t, api, func(nodes map[string]admin.NodeStats) bool {
		for name, c := range want {
			s, ok := nodes[name]
			if !ok || s.State != admin.NodeUp || s.Connected != c || s.Records != c {
				return false
			}
			// Each node's chart line, sampled every 5 s, ends on its count.
			if len(s.Series) == 0 || s.Series[len(s.Series)-1].Connected != c {
				return false
			}
		}
		return len(nodes) == 3
	})

	assert.Equal(t, 0, n3.Stop(t))
	nodes := waitNodes(t, api, func(nodes map[string]admin.NodeStats) bool {
		s := nodes["n3"]
		return s.State == admin.NodeDown && s.Connected == 0 && nodes["n2"].State == admin.NodeUp
	})
	assert.Equal(t, 3, nodes["n3"].Records, "a stopped node's records stay in the bucket")
	assert.Empty(t, nodes["n3"].Series, "a stopped node has no figures of its own")
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

// With NATS away, a node answers from its copy: the CLI says the answer
// is stale, and shows another node's client's sid, address and times as
// "-" (not 0, ":" and the year 1); its JSON has null times.
func TestBinaryClusterCLISaysAnAnswerIsStale(t *testing.T) {
	ns := testkit.NATS(t)
	env := []string{"CLISER_PASSWORD=cl-secret", "CLISER_CLUSTER=" + ns.ClientURL()}
	alpha := serveNode(t, env, "alpha")
	beta := serveNode(t, env, "beta")
	opsConnect(t, beta.Addr, "cl-secret", "far-1")
	api := apiOf(t, alpha)
	require.Eventually(t, func() bool {
		rec, err := api.Get(context.Background(), "far-1")
		return err == nil && rec.CStatus && rec.Node == "beta"
	}, 15*time.Second, 20*time.Millisecond, "alpha sees beta's client")
	out, errOut, err := runCLI(t, "clients", "get", "far-1", "--admin", alpha.AdminAddr)
	require.NoError(t, err)
	assert.NotContains(t, errOut, "stale", "NATS up: a fresh answer")
	assert.Regexp(t, `(?m)^sid:\s+\d+$`, out)

	ns.Shutdown()
	ns.WaitForShutdown()
	require.Eventually(t, func() bool {
		rec, err := api.Get(context.Background(), "far-1")
		return err == nil && rec.Stale
	}, 15*time.Second, 20*time.Millisecond, "alpha answers stale")
	out, errOut, err = runCLI(t, "clients", "get", "far-1", "--admin", alpha.AdminAddr)
	require.NoError(t, err)
	assert.Contains(t, errOut, "a stale answer: http://"+alpha.AdminAddr+" cannot reach NATS")
	for _, field := range []string{"sid", "cip", "cport", "connected_at", "last_seen"} {
		assert.Regexp(t, `(?m)^`+field+`:\s+-$`, out)
	}
	assert.Regexp(t, `(?m)^node:\s+beta$`, out)
	out, errOut, err = runCLI(t, "clients", "list", "--admin", alpha.AdminAddr)
	require.NoError(t, err)
	assert.Contains(t, errOut, "a stale answer")
	assert.Regexp(t, `(?m)^far-1\s+-\s+connected\s+-\s+-\s+-\s+-\s+-\s+beta$`, out)
	out, _, err = runCLI(t, "clients", "get", "far-1", "--admin", alpha.AdminAddr, "-o", "json")
	require.NoError(t, err)
	assert.Contains(t, out, `"connected_at": null`)
	assert.Contains(t, out, `"last_seen": null`)
	// A 404 of a stale answer says so too: the client may have registered
	// on another node since (cluster audit: "no client w3" alone).
	_, errOut, err = runCLI(t, "clients", "get", "nobody-1", "--admin", alpha.AdminAddr)
	require.Error(t, err)
	assert.Contains(t, errOut, "a stale answer: http://"+alpha.AdminAddr+" cannot reach NATS")
}

// `cliser clients shutdown --all` through a node while another was killed
// a moment ago (its heartbeat not yet gone): the others are told, and the
// command names the node that did not confirm and exits 1, so that a
// script does not take the fleet for told.
func TestBinaryClusterShutdownAllSaysANodeDidNotConfirm(t *testing.T) {
	ns := testkit.NATS(t)
	env := []string{"CLISER_PASSWORD=cl-secret", "CLISER_CLUSTER=" + ns.ClientURL()}
	alpha := serveNode(t, env, "alpha")
	beta := serveNode(t, env, "beta")
	c := opsConnect(t, alpha.Addr, "cl-secret", "near-1")
	api := apiOf(t, alpha)
	require.Eventually(t, func() bool {
		st, err := api.Stats(context.Background())
		return err == nil && len(st.Nodes) == 2 && st.Nodes[0].State == "up" && st.Nodes[1].State == "up"
	}, 15*time.Second, 20*time.Millisecond, "both nodes up")
	beta.Signal(t, syscall.SIGKILL)
	beta.WaitExit(t)

	out, _, err := runCLI(t, "clients", "shutdown", "--all", "--reason", "partial", "--admin", alpha.AdminAddr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not confirmed by node(s) beta: their clients may not have been told")
	assert.Contains(t, out, "shutdown sent to 1 connected client\n")
	c.Expect("130 shutdown partial")
}

// A kick routed to a node that is paused (SIGSTOP) is answered 503 after
// the request's timeout, and the answer says the node may still carry it
// out, which it does once it runs again: "try again later" alone had an
// operator kick the next session too (cluster audit).
func TestBinaryClusterCommandToAPausedNodeSaysItMayStillRun(t *testing.T) {
	t.Parallel()
	ns := testkit.NATS(t)
	env := []string{"CLISER_PASSWORD=cl-secret", "CLISER_CLUSTER=" + ns.ClientURL()}
	alpha := serveNode(t, env, "alpha")
	beta := serveNode(t, env, "beta")
	c := opsConnect(t, beta.Addr, "cl-secret", "paused-1")
	api := apiOf(t, alpha)
	require.Eventually(t, func() bool {
		rec, err := api.Get(context.Background(), "paused-1")
		return err == nil && rec.CStatus && rec.Node == "beta"
	}, 15*time.Second, 20*time.Millisecond, "alpha sees beta's client")
	beta.Pause(t)
	_, err := api.Kick(context.Background(), "paused-1")
	var se *admin.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusServiceUnavailable, se.Status)
	assert.True(t, strings.HasPrefix(se.Message, "node beta did not answer in time"), "no 'can not be reached; try again' before it: %s", se.Message)
	assert.Contains(t, se.Message, "it may still carry the command out: read the client's record before trying again")
	_, _, err = runCLI(t, "clients", "kick", "paused-1", "--admin", alpha.AdminAddr)
	beta.Resume(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the server could not answer the request now: node beta did not answer in time")
	assert.Equal(t, 1, exitCode(err), "a node that did not answer is no usage mistake: exit 1, not 2")
	c.ExpectClosed("190 kicked")
}

// A node killed with clients connected: the survivor that marks them
// "node lost" counts their ends in cliser_disconnects_total and the
// stats' disconnects, once for the cluster as their events, so `cliser
// status` and the overview show the crash. Before, the counter's "node
// lost" stayed 0 on every node and the summary said no client had gone.
func TestBinaryClusterNodeLostEndsAreCounted(t *testing.T) {
	t.Parallel()
	ns := testkit.NATS(t)
	env := []string{"CLISER_PASSWORD=nl-secret"}
	n1 := serveNode(t, env, "n1", "--cluster", ns.ClientURL(), "--cluster-heartbeat", "1s")
	n2 := serveNode(t, env, "n2", "--cluster", ns.ClientURL(), "--cluster-heartbeat", "1s")
	for i := range 3 {
		testkit.Dial(t, n2.Addr).Register("nl-secret", fmt.Sprintf("nl-%d", i))
	}
	api := apiOf(t, n1)
	// Records: the bucket has them (Connected is n2's own count).
	waitNodes(t, api, func(nodes map[string]admin.NodeStats) bool {
		return nodes["n2"].Connected == 3 && nodes["n2"].Records == 3
	})
	require.NoError(t, n2.Cmd.Process.Kill())
	n2.WaitExit(t)

	base := n1.AdminURL(t)
	series := `cliser_disconnects_total{reason="node lost"}`
	require.Eventually(t, func() bool {
		v, _ := testkit.Metric(base, series)
		return v == 3
	}, 20*time.Second, 50*time.Millisecond, "the survivor counts the lost node's sessions")
	nodes := waitNodes(t, api, func(nodes map[string]admin.NodeStats) bool {
		return nodes["n1"].Disconnects["node lost"] == 3
	})
	assert.Equal(t, admin.NodeDown, nodes["n2"].State)
	status, _, err := runCLI(t, "status", "--admin", base)
	require.NoError(t, err)
	assert.Regexp(t, `disconnects:\s+node lost 3 over the last 5 minutes`, status)
	assert.Equal(t, 3.0, metricOf(t, base, series), "once, however many checks ran")
}
