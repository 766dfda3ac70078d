package events

import (
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
	var q *queue
	fill := func() {
		for range logChunk {
			q.push(Event{Type: TypeDisconnected, CID: "c"})
		}
	}
	mallocs := leastMallocs(func() func() {
		q = newQueue(1<<20, newMetrics(), zap.NewNop())
		fill()
		blocks := q.takeBlocks(nil, logChunk)
		require.Len(t, blocks, logChunk/blockSize)
		q.release(blocks)
		return fill
	})
	require.Zero(t, mallocs, "allocations in the second transaction's %d pushes", logChunk)
	require.Equal(t, logChunk, q.len())
}

// TestQueueStreamOfUnevenTransactionsMakesNoBlocks: in a steady stream the
// writer's transactions differ by a few blocks; the queue keeps what the
// larger ones need. Kept up to the last transaction's count, each rise
// from 8 to 12 blocks made 4 new ones (34 B an event in
// BenchmarkLogAppendPaced, issue 17).
func TestQueueStreamOfUnevenTransactionsMakesNoBlocks(t *testing.T) {
	var q *queue
	var taken [][]queued // the writer's, reused as it reuses its own
	transaction := func(blocks int) {
		for range blocks * blockSize {
			q.push(Event{Type: TypeDisconnected, CID: "c"})
		}
		taken = q.takeBlocks(taken, logChunk)
		q.release(taken)
	}
	mallocs := leastMallocs(func() func() {
		q, taken = newQueue(1<<20, newMetrics(), zap.NewNop()), nil
		transaction(12)
		return func() {
			for range 5 {
				transaction(8)
				transaction(12)
			}
		}
	})
	require.Zero(t, mallocs, "allocations in ten transactions of 8 and 12 blocks")
	require.Zero(t, q.len())
}

// A steady stream writer's take allocates nothing: its list of blocks is
// kept between takes as its batch is. Each take made one before (the
// queue audit), though take's comment said it made none.
func TestQueueSteadyTakeAllocatesNothing(t *testing.T) {
	ev := Event{Type: TypeConnected, CID: "c"}
	got := leastMallocs(func() func() {
		q := newQueue(1<<20, newMetrics(), zap.NewNop())
		var batch []Event
		for range 3 * blockSize {
			q.push(ev)
		}
		batch = q.take(batch, 4*blockSize) // warm: blocks, batch and list
		return func() {
			for range 10 {
				for range 2 * blockSize {
					q.push(ev)
				}
				batch = q.take(batch, 4*blockSize)
			}
		}
	})
	require.Zero(t, got, "allocations in 10 steady takes of 2 blocks")
}
