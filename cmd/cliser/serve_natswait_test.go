package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// waitingNode starts `cliser serve --cluster` on free loopback ports with
// NATS at natsURL not running yet, and waits until its /readyz says it
// waits for NATS. It returns the process, the protocol address and the
// admin base URL.
func waitingNode(t *testing.T, natsURL, shown string) (p *testkit.Process, listen, base string) {
	t.Helper()
	return nodeWaitingFor(t, "cluster: waiting for NATS at "+shown+": ", "--cluster", natsURL)
}

// nodeWaitingFor starts `cliser serve` as waitingNode does, with extra
// flags (--cluster among them), and waits until its /readyz says 503
// with reason in it.
func nodeWaitingFor(t *testing.T, reason string, extra ...string) (p *testkit.Process, listen, base string) {
	t.Helper()
	listen, admin := testkit.FreeAddr(t), testkit.FreeAddr(t)
	env := testkit.Environ([]string{"CLISER_PASSWORD", "CLISER_CLUSTER", "CLISER_ADMIN_TOKEN"}, "CLISER_PASSWORD=nw-secret")
	p = testkit.Start(t, env, append([]string{"serve", "--listen", listen, "--admin-listen", admin,
		"--keepalive-interval", "1h", "--node-id", "waiter", "--data-dir", t.TempDir()}, extra...)...)
	base = "http://" + admin
	until(t, p, "/readyz to name the wait", func() bool {
		code, body := getNoFail(base + "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, reason)
	})
	return p, listen, base
}

// requireWaiting requires of a node waiting at start: alive, the wait
// gauge 1, the protocol port at listen shut.
func requireWaiting(t *testing.T, listen, base string) {
	t.Helper()
	code, _ := getNoFail(base + "/healthz")
	assert.Equal(t, http.StatusOK, code, "a waiting node is alive")
	waiting, ok := testkit.Metric(base, "cliser_cluster_nats_waiting")
	assert.True(t, ok && waiting == 1, "cliser_cluster_nats_waiting %v (present %v)", waiting, ok)
	_, err := net.DialTimeout("tcp", listen, time.Second)
	require.Error(t, err, "the protocol port is open before the node joined")
}

// stopJoined stops p, a node that waited at start for waited and joined,
// with SIGTERM, and returns its logs, having required exit 0, the wait
// gauge 0 before, one first warning, no still line in a wait shorter than
// the 30 s pace, and one line for the join.
func stopJoined(t *testing.T, p *testkit.Process, base string, waited time.Duration, first, still, joined string) string {
	t.Helper()
	waiting, _ := testkit.Metric(base, "cliser_cluster_nats_waiting")
	assert.Equal(t, 0.0, waiting)
	assert.Equal(t, 0, p.Stop(t, syscall.SIGTERM))
	logs := p.LogText()
	assert.Equal(t, 1, strings.Count(logs, first), logs)
	if waited < 29*time.Second { // the next line comes 30 s into the wait
		assert.NotContains(t, logs, still)
	}
	assert.Equal(t, 1, strings.Count(logs, joined), logs)
	return logs
}

// until polls cond for up to 20 s; on failure it shows p's logs as they
// are then.
func until(t *testing.T, p *testkit.Process, what string, cond func() bool) {
	t.Helper()
	untilWithin(t, p, 20*time.Second, what, cond)
}

// untilWithin is until, polling for up to limit.
func untilWithin(t *testing.T, p *testkit.Process, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s:\n%s", limit, what, p.LogText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getNoFail GETs url: status and body, or 0 while nothing answers.
func getNoFail(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A node started before NATS waits for it instead of exiting: alive
// (/healthz 200), not ready (/readyz 503 naming the wait, without the
// URL's password), counted, its protocol port shut, a SIGHUP kept for
// later; once NATS answers it joins, serves a client whose record another
// node lists, and says so in one line, having warned once (the next line
// would come after 30 s). It used to exit 1 ("start NATS first"), and
// under Kubernetes wait out a crash-loop back-off of up to 5 minutes.
func TestBinaryClusterWaitsForNATS(t *testing.T) {
	natsAddr := testkit.FreeAddr(t)
	url := "nats://cliser:nw-hunter2@" + natsAddr
	began := time.Now()
	p, listen, base := waitingNode(t, url, "nats://"+natsAddr)

	code, body := getNoFail(base + "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.NotContains(t, body, "nw-hunter2")
	requireWaiting(t, listen, base)
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGHUP))
	until(t, p, "attempts counted", func() bool {
		n, _ := testkit.Metric(base, "cliser_cluster_nats_start_failures_total")
		return n >= 3
	})
	p.RequireRunning(t, "SIGHUP while waiting stopped the node")

	testkit.NATSAuth(t, testkit.PortOf(t, natsAddr), "cliser", "nw-hunter2")
	until(t, p, "ready once NATS answered", func() bool { code, _ := getNoFail(base + "/readyz"); return code == http.StatusOK })
	waited := time.Since(began)
	opsConnect(t, listen, "nw-secret", "nw-client")
	other := serveNode(t, []string{"CLISER_PASSWORD=nw-secret", "CLISER_ADMIN_TOKEN="}, "other", "--cluster", url)
	api := apiOf(t, other)
	require.Eventually(t, func() bool {
		page, err := api.List(context.Background(), "connected", "", 0, "")
		return err == nil && len(page.Clients) == 1 && page.Clients[0].CID == "nw-client" && page.Clients[0].Node == "waiter"
	}, 15*time.Second, 20*time.Millisecond, "the other node never listed the waiter's client")
	stopAll(t, []*testkit.Served{other}, "nw-hunter2")
	logs := stopJoined(t, p, base, waited, "cluster: NATS does not answer; waiting for it", "still waiting for NATS",
		"cluster: NATS answered; joining")
	assert.NotContains(t, logs, "nw-hunter2", "the NATS password reached the logs")
	assert.Contains(t, logs, "SIGHUP: passwords reloaded", "the SIGHUP of the wait is applied once ready")
	assert.NotContains(t, logs, "password_file", "the password came from the environment: no file to name (it said \"\")")
}

// SIGTERM while the node waits for NATS ends it at once with exit 0:
// nothing was opened that a stop could lose.
func TestBinarySIGTERMWhileWaitingForNATSExitsZero(t *testing.T) {
	url := "nats://" + testkit.FreeAddr(t)
	p, _, _ := waitingNode(t, url, url)
	requireQuickStop(t, p)
}

// requireQuickStop sends p, a node waiting at start, SIGTERM, and
// requires exit 0 within 3 s, saying that nothing was served.
func requireQuickStop(t *testing.T, p *testkit.Process) {
	t.Helper()
	began := time.Now()
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.Exited:
	case <-time.After(3 * time.Second):
		t.Fatalf("still running 3 s after SIGTERM:\n%s", p.LogText())
	}
	assert.Equal(t, 0, testkit.ExitCode(p.ExitErr), p.LogText())
	assert.Less(t, time.Since(began), 3*time.Second)
	assert.Contains(t, p.LogText(), "stopped while starting; nothing was served")
}

// NATS that answers and refuses the node's credentials is a configuration
// mistake: exit 2 at once, saying what to fix, without the password.
func TestBinaryClusterWithWrongNATSPasswordExitsTwo(t *testing.T) {
	natsAddr := testkit.FreeAddr(t)
	testkit.NATSAuth(t, testkit.PortOf(t, natsAddr), "cliser", "nw-right")
	out, code, took := serveRefused(t, "nats://cliser:nw-wrong-pw@"+natsAddr)
	assert.Equal(t, 2, code, out)
	assert.Less(t, took, 10*time.Second)
	assert.Contains(t, out, "NATS refused this node's credentials: correct the user and password")
	assert.NotContains(t, out, "nw-wrong-pw")
}

// serveRefused runs `cliser serve --cluster natsURL` (and extra flags),
// expected to end by itself, and returns what it printed, its exit code
// and how long it ran.
func serveRefused(t *testing.T, natsURL string, extra ...string) (out string, code int, took time.Duration) {
	t.Helper()
	began := time.Now()
	out, code = testkit.Run(t, testkit.Environ([]string{"CLISER_PASSWORD", "CLISER_CLUSTER"}, "CLISER_PASSWORD=cl-secret"),
		append(append(append([]string{"serve"}, clusterFlags...), "--node-id", "n1", "--data-dir", t.TempDir(),
			"--cluster", natsURL), extra...)...)
	return out, code, time.Since(began)
}
