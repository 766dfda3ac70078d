package events

import (
	"runtime"
	"testing"
	"unsafe"

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

// The writer's arena (up to maxSpareArena kept, made anew after each idle
// release) is off the heap: on it a burst after the idle release made
// ~0.6 MB of garbage for the GC to pace by and the scavenger to return
// (issue 17, session 17). Fails with the chunks made by make.
func TestArenaChunksAreOffTheHeap(t *testing.T) {
	var a arena
	allocated := func() uint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.TotalAlloc
	}
	before := allocated()
	for range 3 { // three transactions of ~1 MiB, then the idle release
		for range maxSpareArena / arenaChunk {
			buf := a.next(arenaChunk)
			buf = buf[:arenaChunk-arenaRoom] // filled by the events
			a.close(buf, 0)
		}
		a.release()
	}
	require.Equal(t, maxSpareArena, a.spareBytes(), "a whole transaction's chunks kept")
	a.drop()
	made := a.made.Load()
	grew := allocated() - before
	t.Logf("heap allocated %d B for %d B of chunks made", grew, made)
	require.Equal(t, int64(maxSpareArena), made, "the chunks made once, then reused")
	require.Less(t, grew, uint64(32<<10), "heap allocated %d B for %d B of chunks", grew, made)
}

// A chunk that an event larger than its room grew by append has left its
// region for the heap: the region is unmapped, nothing of it kept; a chunk
// still in its region is kept for the next transaction.
func TestArenaKeepsOnlyChunksInTheirRegion(t *testing.T) {
	var a arena
	grown := a.next(100)
	grown = append(grown, make([]byte, cap(grown)+1)...)
	a.close(grown, 0)
	kept := a.next(100)
	a.close(append(kept, "{}"...), 0)
	a.release()
	require.Len(t, a.free, 1, "only the chunk in its region kept")
	require.Equal(t, unsafe.SliceData(kept), unsafe.SliceData(a.free[0].Bytes()))
	require.Empty(t, a.used, "the used list emptied")
}
