package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// BenchmarkIndexReads: what a node's reads of other nodes' records cost
// now that it indexes them instead of mirroring them (docs/cluster.md):
// a list page (its records read from the bucket, 32 at a time) and a GET,
// on an embedded nats-server, 20,000 records another node wrote.
func BenchmarkIndexReads(b *testing.B) {
	const records = 20_000
	url := runNATS(b)
	writer := joinNode(b, url, "writer")
	put := connectedRecords("pos-%06d", records)
	require.NoError(b, writer.Store().Save(put, nil))

	// The writer never beats: a reader that judged it lost would mark its
	// records while they are read.
	reader := joinNode(b, url, "reader", cluster.WithHeartbeatTTL(time.Hour))
	reg := registry.New(registry.WithStore(reader.Store()), registry.WithNode("reader"))
	require.NoError(b, reader.Start(reg, nil))
	dir := reader.Directory()
	for _, limit := range []int{registry.DefaultPageLimit, registry.MaxPageLimit} {
		b.Run(fmt.Sprintf("list-%d", limit), func(b *testing.B) {
			defer reportCPU(b)()
			after := ""
			for range b.N {
				page, err := dir.List(registry.Query{Limit: limit, After: after})
				require.NoError(b, err)
				require.Len(b, page.Records, limit)
				require.Equal(b, "writer", page.Records[0].Node)
				after = page.Next
				if after == "" || len(after) > 0 && after >= put[records-limit-1].CID {
					after = ""
				}
			}
		})
	}
	b.Run("get", func(b *testing.B) {
		defer reportCPU(b)()
		for i := range b.N {
			rec, err := dir.Get(put[i%records].CID)
			require.NoError(b, err)
			require.True(b, rec.CStatus)
		}
	})
}

func joinNode(b *testing.B, url, id string, opts ...cluster.Option) *cluster.Node {
	nc, err := nats.Connect(url)
	require.NoError(b, err)
	b.Cleanup(nc.Close)
	n, err := cluster.Join(nc, id, opts...)
	require.NoError(b, err)
	b.Cleanup(func() { _ = n.Close() })
	return n
}

// reportCPU reports the process's CPU time per op (this node's and the
// embedded nats-server's): on a shared machine it holds where wall-clock
// latency does not.
func reportCPU(b *testing.B) func() {
	start := testkit.CPUTime()
	return func() { b.ReportMetric(float64((testkit.CPUTime()-start).Microseconds())/float64(b.N), "cpu-µs/op") }
}
