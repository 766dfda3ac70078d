package events

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// TestQueueKeepsATransactionsBlocks: a burst's closes queue a whole
// transaction (logChunk events) between two takes of the writer; the
// blocks it gave back hold the next one without a new block. Keeping 8 of
// its 16 made 8 new 29 KB blocks a transaction (192 B a handshake in
// cliser serve's bursts, issue 17).
func TestQueueKeepsATransactionsBlocks(t *testing.T) {
	q := newQueue(1<<20, newMetrics(), zap.NewNop())
	fill := func() {
		for range logChunk {
			q.push(Event{Type: TypeDisconnected, CID: "c"})
		}
	}
	fill()
	blocks := q.takeBlocks(nil, logChunk)
	require.Len(t, blocks, logChunk/blockSize)
	q.release(blocks)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	fill()
	runtime.ReadMemStats(&m1)
	require.Zero(t, m1.Mallocs-m0.Mallocs, "allocations in the second transaction's %d pushes", logChunk)
	require.Equal(t, logChunk, q.len())
}
