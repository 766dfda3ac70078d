package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// A node stopped while NATS is away, with nothing to lose (no client, no
// queued event), stops cleanly: exit 0, within seconds. It exited 1 after
// 7 s, "cluster: remove heartbeat: context deadline exceeded" and "nats:
// connection reconnecting", so its exit status could not tell an operator
// whether events or records were lost (a stop that loses events exits 1,
// TestStreamCloseReportsEventsLostToNATSAway).
func TestBinaryStopWhileNATSIsAwayLosingNothingExitsZero(t *testing.T) {
	ns := testkit.NATS(t)
	p := serveNode(t, []string{"CLISER_PASSWORD=cl-away", "CLISER_ADMIN_TOKEN="}, "away-1", "--cluster", ns.ClientURL())
	base := p.AdminURL(t)
	ns.Shutdown()
	ns.WaitForShutdown()
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/metrics")
		return strings.Contains(body, "\ncliser_cluster_nats_connected 0\n")
	}, 10*time.Second, 20*time.Millisecond, "the node never saw NATS go")

	began := time.Now()
	code := p.Stop(t)
	took := time.Since(began)
	logs := p.LogText()
	assert.Equal(t, 0, code, "nothing was lost:\n%s", logs[max(0, len(logs)-1500):])
	assert.Less(t, took, 4*time.Second)
	assert.NotContains(t, logs, "stopped with errors")
	assert.Contains(t, logs, "stopped; registry written")
}
