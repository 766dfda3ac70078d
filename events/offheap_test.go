package events

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// The client index's table (512 KB) and the newest events' ring (~0.6 MB
// at ~300 bytes an event) are the log's fixed buffers: on the Go heap
// they raised the GC's goal by half their size again, and with it the
// heap a server kept resident after a ramp (issue 17, session 16). Off
// the heap, the live heap holds only their small headers and places.
func TestIndexTableAndRingAreOffTheHeap(t *testing.T) {
	before := liveHeap()
	x := newCIDIndex(indexSlots)
	for i := range 20000 {
		x.add("client-"+string(rune('a'+i%26)), uint64(i+1))
	}
	var r recent
	recentFeed(&r, 3*recentKeep, 500, 300)
	grew := liveHeap() - before
	held := len(x.head)*8 + r.heldBytes()
	require.Greater(t, held, 1<<20, "what the two hold")
	// The index's 4 bytes an event (80 KB here) and recent's places
	// (32 KB) stay on the heap; the table and the ring do not.
	t.Logf("live heap grew by %d B for %d B held", grew, held)
	require.Less(t, grew, int64(256<<10), "live heap grew by %d B for %d B held", grew, held)
	runtime.KeepAlive(x)
	runtime.KeepAlive(&r)
}

func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
