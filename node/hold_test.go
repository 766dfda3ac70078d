package node_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/webhook"
)

// A fleet that only answers keep-alives costs the event log and its
// webhook nothing: no event, no delivery, no request, however many
// keep-alives go by (issue 17: the variants' holds, counted in session
// 14, make the same system calls a keep-alive as cliser's). An event, a
// write or a webhook call per keep-alive, or on a timer, moves a count.
func TestIdleFleetCostsTheEventLogNothing(t *testing.T) {
	const clients, rounds = 20, 5
	var requests atomic.Int64
	n := nodetest.Start(t, append(eventsOn(t, &requests), node.WithDataDir(t.TempDir()),
		node.WithReactorOptions(reactor.WithKeepAlive(50*time.Millisecond, 5*time.Second)))...)

	f, err := client.NewFleet(client.FleetConfig{Addr: n.Addr(), Password: nodetest.Password, EventLoops: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	for i := range clients {
		_, err := f.Open(context.Background(), i, fmt.Sprintf("idle-%02d", i))
		require.NoError(t, err)
	}
	base := "http://" + n.AdminAddr()
	metric := func(series string) float64 { v, _ := testkit.Metric(base, series); return v }
	// 30 s: a deadline for a loaded machine, not a product timeout.
	require.Eventually(t, func() bool {
		return f.Counts().Registered == clients && metric(webhook.MetricDelivered) >= clients
	}, 30*time.Second, 10*time.Millisecond, "every connect delivered")

	newest, delivered, reqs := metric(events.MetricNewestSeq), metric(webhook.MetricDelivered), requests.Load()
	kas := f.Counts().KeepAlives
	require.Eventually(t, func() bool { return f.Counts().KeepAlives >= kas+clients*rounds },
		30*time.Second, 10*time.Millisecond, "keep-alives answered")

	require.Equal(t, newest, metric(events.MetricNewestSeq), "events appended while the fleet only kept alive")
	require.Equal(t, delivered, metric(webhook.MetricDelivered), "events delivered while the fleet only kept alive")
	require.Equal(t, reqs, requests.Load(), "webhook requests while the fleet only kept alive")
}
