package cluster

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/btree"

	"github.com/cliser/cliser/registry"
)

// BenchmarkMirrorBytesPerRecord measures what one record costs in a node's
// mirror (every node holds every record of the cluster), for the 1M-client
// projection in docs/cluster.md. It reports heap bytes per record.
func BenchmarkMirrorBytesPerRecord(b *testing.B) {
	const records = 100_000
	now := time.Now().UTC()
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := btree.NewG(32, lessItem)
		for i := range records {
			m.ReplaceOrInsert(&item{rev: uint64(i), rec: registry.Record{
				SID: uint16(i), CID: fmt.Sprintf("pos-%07d", i), // Decoded from JSON, each record has strings of its own.
				CIP: strings.Clone("10.1.2.3"), CPort: strings.Clone("53122"),
				CStatus: true, ConnectedAt: now, LastSeen: now, Node: strings.Clone("cliser-7"),
			}})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/records, "B/record")
		runtime.KeepAlive(m)
	}
}
