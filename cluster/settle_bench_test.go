package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// BenchmarkSettle: what the cluster's event log adds to a storm of
// registrations on one embedded nats-server, the cost issue 13's settle
// time measures. Each op is a storm of 1,000 new clients on each of three
// nodes: every node writes its records (one flush) and appends their
// client.connected events at once, and the op ends when every node's
// index shows all of them connected (settle-ms/op) and the stream holds
// every event.
// Variants: no event log; every node following the stream (as before
// 2026-11-30's s5); no node following it (no live reader); and that with
// the event writer holding back behind the records. cpu-µs/client is the
// process's CPU (the nats-server's and the nodes') per registration: on
// a shared machine it holds where the wall clock does not.
func BenchmarkSettle(b *testing.B) {
	for _, v := range []struct {
		name          string
		events, tails bool
		hold          bool
	}{
		{name: "events-off"},
		{name: "events-tailed", events: true, tails: true},
		{name: "events-untailed", events: true},
		{name: "events-held", events: true, hold: true},
	} {
		b.Run(v.name, func(b *testing.B) {
			url := runNATS(b)
			var nodes []*cluster.Node
			var logs []*events.Stream
			var gauges []*prometheus.Registry
			for i := range 3 {
				id := fmt.Sprintf("n%d", i+1)
				n := joinNode(b, url, id, cluster.WithHeartbeatTTL(time.Hour))
				require.NoError(b, n.Start(registry.New(registry.WithStore(n.Store()), registry.WithNode(id)), nil))
				reg := prometheus.NewRegistry()
				reg.MustRegister(n.Collectors()...)
				nodes, gauges = append(nodes, n), append(gauges, reg)
				if v.events {
					nc, _ := testkit.JetStream(b, url)
					sopts := []events.StreamOption{}
					if v.hold {
						sopts = append(sopts, events.WithHoldWhile(n.Backlogged))
					}
					s, err := events.OpenStream(nc, nil, sopts...)
					require.NoError(b, err)
					b.Cleanup(func() { _ = s.Close() })
					logs = append(logs, s)
					if v.tails {
						follow(b, s)
					}
				}
			}
			const perNode = 1000
			defer reportCPUPer(b, 3*perNode)()
			var settle time.Duration
			for op := range b.N {
				t0 := time.Now()
				var wg sync.WaitGroup
				for i, n := range nodes {
					wg.Add(1)
					go func() {
						defer wg.Done()
						put := connectedRecords(fmt.Sprintf("op%d-n%d-%%04d", op, i), perNode)
						if v.events {
							for _, rec := range put {
								logs[i].Append(events.Event{Type: events.TypeConnected, CID: rec.CID, Node: n.ID()})
							}
						}
						require.NoError(b, n.Store().Save(put, nil))
					}()
				}
				wg.Wait()
				want := float64(3 * perNode * (op + 1))
				for _, reg := range gauges {
					for testkit.GatheredFrom(b, reg, cluster.MetricClusterConnected, "") < want {
						time.Sleep(time.Millisecond)
					}
				}
				settle += time.Since(t0)
				if v.events {
					for logs[0].Newest() < uint64(want) {
						time.Sleep(time.Millisecond)
					}
				}
			}
			b.ReportMetric(float64(settle.Milliseconds())/float64(b.N), "settle-ms/op")
		})
	}
}

// follow keeps s following the stream, as a live reader (SSE) does.
func follow(b *testing.B, s *events.Stream) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for after := uint64(0); ctx.Err() == nil; {
			if s.Wait(ctx, after) == nil {
				after = s.Newest()
			}
		}
	}()
}

func reportCPUPer(b *testing.B, per int) func() {
	start := testkit.CPUTime()
	return func() {
		b.ReportMetric(float64((testkit.CPUTime()-start).Microseconds())/float64(b.N*per), "cpu-µs/client")
	}
}
