package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// BenchmarkStoreSave: what a flush of new registrations costs on an
// embedded nats-server (file storage, one replica, loopback): records per
// second one node's flusher writes. The registrations take the node's
// next sids, as its allocator hands them out, so each flush of 1,000
// fills about 16 slots: 16 slot writes, each a compare-and-set; the
// figure bounds how fast a node publishes a mass reconnect
// (docs/cluster.md).
func BenchmarkStoreSave(b *testing.B) {
	url := runNATS(b)
	store := joinNode(b, url, "bench").Store()
	const batch = 1000
	now := time.Now().UTC()
	b.ResetTimer()
	for i := range b.N {
		put := make([]registry.Record, batch)
		for j := range put {
			put[j] = registry.Record{SID: uint16((i*batch+j)%65535 + 1), CID: fmt.Sprintf("c-%d-%d", i, j), CIP: "10.0.0.1",
				CPort: "40000", CStatus: true, ConnectedAt: now, LastSeen: now}
		}
		require.NoError(b, store.Save(put, nil))
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
