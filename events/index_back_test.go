package events

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// The index's distances across chunk boundaries and drops: every walk
// gives what a plain list of each client's seqs gives, while the oldest
// events are dropped in steps that end inside, at and past chunks, and
// one that drops them all.
func TestIndexWalksAcrossChunksAndDrops(t *testing.T) {
	x := newCIDIndex(3) // 7 clients on 3 slots: shared chains
	var seqsOf [7][]uint64
	oldest, next := uint64(1), uint64(1)
	check := func() {
		t.Helper()
		for c := range seqsOf {
			cid := fmt.Sprintf("c%d", c)
			var want []uint64
			for i := len(seqsOf[c]) - 1; i >= 0 && seqsOf[c][i] >= oldest; i-- {
				want = append(want, seqsOf[c][i])
			}
			var got []uint64
			for seq, more := uint64(0), true; more; {
				cands, n := x.chain(cid, seq, oldest-1, 1000)
				for _, s := range cands {
					if int((s-1)%7) == c { // the reader's filter by cid
						got = append(got, s)
					}
				}
				seq, more = n, n != 0
			}
			require.Equal(t, want, got, "c%d, oldest %d, next %d", c, oldest, next)
		}
	}
	add := func(n int) {
		for range n {
			c := int((next - 1) % 7)
			x.add(fmt.Sprintf("c%d", c), next)
			seqsOf[c] = append(seqsOf[c], next)
			next++
		}
	}
	add(distChunkLen + 5)
	check()
	for _, step := range []uint64{3, distChunkLen - 3, distChunkLen / 2, distChunkLen} {
		oldest += step
		x.drop(oldest)
		check()
		add(distChunkLen / 3)
		check()
	}
	require.LessOrEqual(t, len(x.back.chunks), 3, "a dropped chunk is given back")
	oldest = next + 10 // past everything: the index starts over at the next seq
	x.drop(oldest)
	require.Zero(t, x.back.len())
	next = oldest
	add(100)
	check()
}

// A log's growth and its retention make no garbage in the index: its
// distances fill chunks off the heap, which a drop hands back (one kept).
func TestIndexDistancesOffTheHeap(t *testing.T) {
	x := newCIDIndex(indexSlots)
	cids := make([]string, 64)
	for i := range cids {
		cids[i] = fmt.Sprintf("client-%d", i)
	}
	const n = 8 * distChunkLen // 131,072 events: 512 KB of distances
	before := liveHeap()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for s := uint64(1); s <= n; s++ {
		x.add(cids[s%64], s)
		if s > 2*distChunkLen {
			x.drop(s - 2*distChunkLen) // a retention of two chunks' events
		}
	}
	runtime.ReadMemStats(&m1)
	grew := liveHeap() - before
	t.Logf("%d events: live heap grew by %d B, %d B allocated", n, grew, m1.TotalAlloc-m0.TotalAlloc)
	require.Less(t, grew, int64(16<<10))
	require.Less(t, m1.TotalAlloc-m0.TotalAlloc, uint64(64<<10), "as a slice: ~4 B an event and its copies")
	require.LessOrEqual(t, len(x.back.chunks), 3)
	runtime.KeepAlive(x)
}
