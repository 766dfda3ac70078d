package cluster_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
)

// A NATS server frozen rather than gone (SIGSTOP, a hung host) takes
// each connect and never answers, and nats.go holds the connection's lock
// through each attempt, up to its 2 s dial timeout. The probes an
// orchestrator times answer within half a second however often they come,
// every endpoint as with NATS down, and the frozen server's accepts are
// no reconnects. Before, a probe waited out the attempt, identity writes
// took 1 to 3 s, and cliser_cluster_nats_reconnects_total grew by one an
// attempt (cluster audit). Nor does a scrape before the node noticed: the
// newest-seq gauge asked NATS, up to 1 s (regression audit).
func TestEveryEndpointAnswersWhileNATSIsFrozen(t *testing.T) {
	t.Parallel()
	natsURL := runNATS(t)
	relay := testkit.StartRelay(t, strings.TrimPrefix(natsURL, "nats://"))
	n1 := startNodeOpts(t, "nats://"+relay.Addr(), "n1", node.WithEventRetention(1000))
	n2 := startNodeOpts(t, natsURL, "n2", node.WithEventRetention(1000))
	register(t, n1.srv.Addr(), "near-1")
	register(t, n2.srv.Addr(), "far-1")
	eventually(t, func() bool { return n1.listed(t, "far-1") && n1.listed(t, "near-1") }, "both listed on n1")
	prepareSweep(t, n1)
	base := "http://" + n1.n.AdminAddr()
	metric := func(name string) float64 {
		v, ok := testkit.Metric(base, name)
		require.True(t, ok, "%s on %s", name, base)
		return v
	}

	relay.SetSilent(testkit.BothWays)
	start := time.Now() // before n1 can notice: its PINGs take a second or two
	metric(cluster.MetricClusterNATSConnected)
	assert.Less(t, time.Since(start), 500*time.Millisecond, "a scrape before the freeze is noticed asked NATS and waited")
	eventually(t, func() bool { return metric(cluster.MetricClusterNATSConnected) == 0 }, "n1 sees NATS frozen")
	reconnects := metric(cluster.MetricClusterNATSReconnects)
	probeWithin(t, base, 3*time.Second, 500*time.Millisecond)
	sweepEndpoints(t, n1, "far-1", 3*time.Second)
	assert.Equal(t, reconnects, metric(cluster.MetricClusterNATSReconnects), "a frozen server's accepts are no reconnects")

	relay.SetSilent(0)
	eventually(t, func() bool { return metric(cluster.MetricClusterNATSConnected) == 1 }, "n1 sees NATS again")
	assert.Greater(t, metric(cluster.MetricClusterNATSReconnects), reconnects)
}

// probeWithin calls the probes of base in turn for span, and checks
// that each answers within bound.
func probeWithin(t *testing.T, base string, span, bound time.Duration) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	probes := []string{"/healthz", "/readyz", "/metrics", "/v1/health"}
	calls := 0
	for end := time.Now().Add(span); time.Now().Before(end); calls++ {
		path := probes[calls%len(probes)]
		start := time.Now()
		resp, err := hc.Get(base + path)
		took := time.Since(start)
		require.NoError(t, err, path)
		resp.Body.Close()
		assert.Less(t, took, bound, "%s answered in %v (%d)", path, took, resp.StatusCode)
	}
	t.Logf("%d probes in %v", calls, span)
}
