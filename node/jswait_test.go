package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
)

// joinTry is one real join on nc (three replicas, as on the cluster of
// three), as openBackend makes it.
func joinTry(nc *nats.Conn) func(context.Context) (*cluster.Node, error) {
	return func(ctx context.Context) (*cluster.Node, error) {
		return cluster.JoinContext(ctx, nc, "n1", cluster.WithReplicas(3))
	}
}

// A join while one NATS server of three is up (it answers; JetStream has
// no quorum) waits: /readyz's reason says it waits for JetStream and why,
// every try is counted, one warning, then one line a pace; once the other
// two are up the same connection joins, and one line says so.
func TestJetStreamWaitJoinsOnceQuorate(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	c := testkit.NATSClusterOf3Stopped(t)
	c.Start(0)
	urls := strings.Join(c.URLs(), ",")
	w := newNATSWait(urls, zap.New(core))
	const pace = 300 * time.Millisecond
	w.retry, w.logPace, w.jsProbe = 10*time.Millisecond, pace, 200*time.Millisecond
	nc, err := nats.Connect(urls)
	require.NoError(t, err)
	t.Cleanup(nc.Close)

	began := time.Now()
	done := make(chan *cluster.Node, 1)
	go func() {
		node, err := w.join(context.Background(), nc, joinTry(nc))
		assert.NoError(t, err)
		done <- node
	}()
	// Past the server's 10 s without a leader, it answers "unavailable".
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(w.jsFailures) >= 40 && strings.Contains(w.why(), "JetStream system temporarily unavailable")
	}, 30*time.Second, 10*time.Millisecond, "why: %s", w.why())
	assert.True(t, strings.HasPrefix(w.why(), "cluster: NATS answers, waiting for JetStream: JetStream account info: "), w.why())
	assert.Equal(t, 1.0, testutil.ToFloat64(w.waiting))
	assert.Equal(t, 0.0, testutil.ToFloat64(w.failures), "NATS answered: no NATS try failed")

	c.Start(1)
	c.Start(2)
	node := testkit.Recv(t, done, time.Minute, "no join once JetStream had a quorum")
	waited := time.Since(began)
	require.NotNil(t, node)
	assertWaitEnded(t, w, logs, waitLines{"its JetStream cannot serve yet; waiting for it", "cluster: still waiting for JetStream",
		"cluster: JetStream answered; joined"}, waited, pace)
}

// A NATS server without JetStream is not waited for: the first try ends
// the join with what to fix, nothing counted or logged as a wait.
func TestJetStreamWaitEndsOnNoJetStream(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	ns := testkit.NATSWithoutJetStream(t)
	w := newNATSWait(ns.ClientURL(), zap.New(core))
	w.retry = 10 * time.Millisecond
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a wait would end here
	defer cancel()
	_, err = w.join(ctx, nc, joinTry(nc))
	require.Error(t, err)
	require.NoError(t, ctx.Err(), "waited for a JetStream that is not there")
	assert.Contains(t, jsRefusal(nc, err), "start nats-server with -js")
	assert.Equal(t, 0.0, testutil.ToFloat64(w.jsFailures))
	assert.Equal(t, 0, logs.Len(), "a refusal is not a wait")
}

// The wait's words: answers JetStream may still change wait; a refusal
// and errors of another kind do not.
func TestJetStreamNotYet(t *testing.T) {
	api := func(code jetstream.ErrorCode) error {
		return fmt.Errorf("cluster: bucket b: %w", &jetstream.APIError{Code: 503, ErrorCode: code})
	}
	for _, err := range []error{context.DeadlineExceeded, nats.ErrNoResponders, nats.ErrTimeout,
		api(jsClusterNotAvailable), api(jsClusterNoPeers), api(jsClusterNotLeader)} {
		assert.True(t, jsNotYet(err), "%v", err)
	}
	for _, err := range []error{context.Canceled, api(10023), nats.ErrBadSubject} {
		assert.False(t, jsNotYet(err), "%v", err)
	}
}
