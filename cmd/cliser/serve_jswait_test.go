package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// jsWaitReason is /readyz's reason while NATS answers and its JetStream
// cannot serve yet.
const jsWaitReason = "cluster: NATS answers, waiting for JetStream: "

// A node started while its NATS cluster has one server of three up
// (NATS answers, JetStream has no quorum: a StatefulSet still starting)
// waits instead of exiting: alive, not ready and saying that it waits for
// JetStream, counted, its protocol port shut; once the other two servers
// are up it joins and serves a client its API lists, having warned once
// and said once that it joined. It used to give up after 30 s with exit
// 1 ("bucket cliser_clients: context deadline exceeded") and crash-loop.
func TestBinaryClusterWaitsForJetStream(t *testing.T) {
	t.Parallel()
	c := testkit.NATSClusterOf3Stopped(t)
	c.Start(0)
	began := time.Now()
	p, listen, base := nodeWaitingFor(t, jsWaitReason, "--cluster", strings.Join(c.URLs(), ","), "--cluster-replicas", "3")

	requireWaiting(t, listen, base)
	// The server's answer once it has been leaderless for 10 s (before,
	// it leaves the question unanswered: counted as a try that timed out).
	until(t, p, "/readyz to name JetStream's answer", func() bool {
		_, body := getNoFail(base + "/readyz")
		return strings.Contains(body, jsWaitReason+"JetStream account info: ") &&
			strings.Contains(body, "JetStream system temporarily unavailable")
	})
	tries, _ := testkit.Metric(base, "cliser_cluster_jetstream_start_failures_total")
	assert.GreaterOrEqual(t, tries, 2.0, "tries not counted")
	p.RequireRunning(t, "the node gave up waiting for JetStream")

	c.Start(1)
	c.Start(2)
	// A meta leader's election, then three replicas placed per bucket.
	untilWithin(t, p, time.Minute, "ready once JetStream has a quorum", func() bool {
		code, _ := getNoFail(base + "/readyz")
		return code == http.StatusOK
	})
	waited := time.Since(began)
	opsConnect(t, listen, "nw-secret", "js-client")
	api := adminClient(t, base)
	require.Eventually(t, func() bool {
		page, err := api.List(context.Background(), "connected", "", 0, "")
		return err == nil && len(page.Clients) == 1 && page.Clients[0].CID == "js-client"
	}, 15*time.Second, 20*time.Millisecond, "the joined node never listed its client")
	logs := stopJoined(t, p, base, waited, "cluster: NATS answers but its JetStream cannot serve yet; waiting for it",
		"still waiting for JetStream", "cluster: JetStream answered; joined")
	assert.NotContains(t, logs, "NATS does not answer", "NATS answered from the start")
}

// SIGTERM while the node waits for JetStream ends it at once with exit
// 0: nothing was opened that a stop could lose.
func TestBinarySIGTERMWhileWaitingForJetStreamExitsZero(t *testing.T) {
	t.Parallel()
	c := testkit.NATSClusterOf3Stopped(t)
	c.Start(0)
	p, _, _ := nodeWaitingFor(t, jsWaitReason, "--cluster", strings.Join(c.URLs(), ","))
	requireQuickStop(t, p)
}

// A nats-server started without -js answers and has no JetStream: a
// configuration mistake no wait mends. Exit 2 at once, saying to start
// it with -js. It used to exit 1 with nats.go's "jetstream not enabled".
func TestBinaryClusterWithoutJetStreamExitsTwo(t *testing.T) {
	out, code, took := serveRefused(t, testkit.NATSWithoutJetStream(t).ClientURL())
	assert.Equal(t, 2, code, out)
	assert.Less(t, took, 10*time.Second)
	assert.Contains(t, out, "runs without JetStream, which the cluster keeps its records in: start nats-server with -js")
	assert.NotContains(t, out, "waiting for it")
}

// Replicas that a NATS server running JetStream alone cannot keep are a
// configuration mistake: exit 2 with the fix (it was exit 1 with NATS's
// "replicas > 1 not supported in non-clustered mode").
func TestBinaryClusterReplicasOnALoneNATSExitsTwo(t *testing.T) {
	out, code, took := serveRefused(t, testkit.NATS(t).ClientURL(), "--cluster-replicas", "3")
	assert.Equal(t, 2, code, out)
	assert.Less(t, took, 10*time.Second)
	assert.Contains(t, out, "runs JetStream alone, not in a NATS cluster, and keeps one replica of a bucket: give --cluster-replicas 1")
	assert.NotContains(t, out, "waiting for it")
}
