package cluster

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkIndexBytesPerRecord measures what one record of another node
// costs in a node's index (every node indexes every record of the
// cluster), for the projection in docs/cluster.md. Records arrive in a
// shuffled cid order, as from several nodes at once, through the watch's
// own path (apply's insert). It reports heap bytes per record.
func BenchmarkIndexBytesPerRecord(b *testing.B) {
	const records = 100_000
	order := rand.New(rand.NewPCG(1, 2)).Perm(records)
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		n := &Node{id: "cliser-0", names: []string{"", "cliser-0"}, nodeNums: map[string]uint16{"cliser-0": 1}, self: 1,
			connectedBy: map[string]int{}, published: map[string]published{}}
		n.index = newIndex()
		for rev, i := range order {
			// Decoded from the watch, each cid is a string of its own.
			n.index.ReplaceOrInsert(entry{cid: strings.Clone(fmt.Sprintf("pos-%07d", i)),
				meta: packMeta(uint64(rev+1), uint16(i%slotCount), n.nodeNumLocked(fmt.Sprintf("cliser-%d", i%3+1)), true)})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/records, "B/record")
		runtime.KeepAlive(n)
	}
}

// TestIndexEntryPacks: the packed fields come back as they went in.
func TestIndexEntryPacks(t *testing.T) {
	for _, c := range []struct {
		rev  uint64
		slot uint16
		node uint16
		conn bool
	}{{1, 0, 1, true}, {revMask, slotMask, nodeMask, false}, {12345, 17, 0, true}, {0, slotCount - 1, 7, false}} {
		e := entry{meta: packMeta(c.rev, c.slot, c.node, c.conn)}
		if e.rev() != c.rev || e.slot() != c.slot || e.node() != c.node || e.connected() != c.conn {
			t.Fatalf("packed %+v, got rev %d slot %d node %d connected %v", c, e.rev(), e.slot(), e.node(), e.connected())
		}
	}
}
