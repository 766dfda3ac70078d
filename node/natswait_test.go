package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
)

// A wait for NATS logs one warning when it starts, then one line a pace
// (not one an attempt), and one when NATS answers; no line carries the
// URL's password; every attempt that found no server is counted, and the
// gauge is 1 only while waiting.
func TestNATSWaitLogsAtItsPace(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	addr := testkit.FreeAddr(t)
	urls := "nats://cliser:hunter2-pw@" + addr
	w := newNATSWait(urls, log)
	const pace = 300 * time.Millisecond
	w.retry, w.logPace = 10*time.Millisecond, pace
	o := defaultOptions()
	o.natsURLs, o.nodeID, o.log = urls, "n1", log

	began := time.Now()
	done := make(chan *natsLink, 1)
	go func() {
		link, err := w.connect(context.Background(), func() (*natsLink, error) { return dialNATS(&o) })
		assert.NoError(t, err)
		done <- link
	}()
	// Long enough for a few paces and many attempts.
	require.Eventually(t, func() bool { return testutil.ToFloat64(w.failures) >= 80 && time.Since(began) > 4*pace },
		20*time.Second, 10*time.Millisecond)
	assert.Equal(t, 1.0, testutil.ToFloat64(w.waiting))
	assert.Contains(t, w.why(), "cluster: waiting for NATS at nats://"+addr+": nats: no servers available")

	testkit.NATSAuth(t, testkit.PortOf(t, addr), "cliser", "hunter2-pw")
	link := testkit.Recv(t, done, 10*time.Second, "no join once NATS answered")
	waited := time.Since(began)
	t.Cleanup(link.nc.Close)
	assertWaitEnded(t, w, logs, waitLines{"NATS does not answer; waiting", "cluster: still waiting for NATS",
		"cluster: NATS answered; joining"}, waited, pace)
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			assert.NotContains(t, fmt.Sprint(v), "hunter2", "%s: field %s", e.Message, k)
		}
	}
}

// waitLines are a wait's log lines: a snippet of its first warning, its
// "still waiting" line and the line that says it ended.
type waitLines struct{ first, still, ended string }

// assertWaitEnded checks w after a wait of waited that ended in a join:
// not waiting, one first warning, at least two "still" lines and at most
// one a pace, one line for the end.
func assertWaitEnded(t *testing.T, w *natsWait, logs *observer.ObservedLogs, l waitLines, waited, pace time.Duration) {
	t.Helper()
	assert.Equal(t, 0.0, testutil.ToFloat64(w.waiting))
	assert.Equal(t, "not accepting clients: starting", w.why())
	assert.Equal(t, 1, logs.FilterMessageSnippet(l.first).Len())
	still := logs.FilterMessage(l.still).Len()
	assert.GreaterOrEqual(t, still, 2, "the wait says it still waits")
	assert.LessOrEqual(t, still, int(waited/pace), "one line a pace at most: %d in %s", still, waited)
	assert.Equal(t, 1, logs.FilterMessage(l.ended).Len())
}

// The node's NATS connection reports its asynchronous errors through the
// node's log, one warning per kind a pace, the rest at debug. nats.go's
// default printed each as a bare line on stderr: five a second on every
// node while NATS was away (seen on three binaries, "consumer not
// active"). A slow consumer is the error a real server gives on demand.
func TestNATSAsyncErrorsGoToTheLogOncePerPace(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	o := defaultOptions()
	o.natsURLs, o.nodeID, o.log = testkit.NATS(t).ClientURL(), "n1", zap.New(core)
	link, err := dialNATS(&o)
	require.NoError(t, err)
	t.Cleanup(link.nc.Close)

	sub, err := link.nc.SubscribeSync("slow")
	require.NoError(t, err)
	require.NoError(t, sub.SetPendingLimits(1, -1))
	reported := func() []observer.LoggedEntry {
		return logs.FilterMessageSnippet("NATS reports an error").All()
	}
	for round := 0; len(reported()) < 3; round++ {
		require.Less(t, round, 200, "no slow consumer reported")
		for range 10 {
			require.NoError(t, link.nc.Publish("slow", []byte("x")))
		}
		require.NoError(t, link.nc.Flush())
		_, _ = sub.NextMsg(time.Millisecond) // nats.go reports a slow consumer once per run of drops
	}
	got := reported()
	assert.Equal(t, zap.WarnLevel, got[0].Level)
	assert.Equal(t, nats.ErrSlowConsumer.Error(), got[0].ContextMap()["error"])
	assert.NotContains(t, got[0].ContextMap(), "subject", "nats.go may be rewriting it (TestNATSAsyncErrorsOfARemadeOrderedConsumer)")
	for _, e := range got[1:] {
		assert.Equal(t, zap.DebugLevel, e.Level, "the same kind again within the pace")
	}

	// The kind is the error, not the subscription: a consumer made again
	// is another, and each one warned anew.
	other, err := link.nc.SubscribeSync("slow-again")
	require.NoError(t, err)
	require.NoError(t, other.SetPendingLimits(1, -1))
	before := len(reported())
	for round := 0; ; round++ {
		require.Less(t, round, 200, "no slow consumer reported on the second subscription")
		for range 10 {
			require.NoError(t, link.nc.Publish("slow-again", []byte("x")))
		}
		require.NoError(t, link.nc.Flush())
		_, _ = other.NextMsg(time.Millisecond)
		if dropped, err := other.Dropped(); err == nil && dropped > 0 && len(reported()) > before {
			break
		}
	}
	for _, e := range reported()[before:] {
		assert.Equal(t, zap.DebugLevel, e.Level, "the same error on another subscription within the pace")
	}
}
