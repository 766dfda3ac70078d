package events

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// TestStreamTakeGivesItsBlocksBack: the stream's writer copies what it
// takes (take), and the blocks it copied from are reused by the next
// pushes. A take that kept them made a block anew every blockSize events
// of a cluster node's stream (a mutation audit: dropping take's release
// passed every test).
func TestStreamTakeGivesItsBlocksBack(t *testing.T) {
	ev := Event{Type: TypeDisconnected, CID: "c"}
	mallocs := leastMallocs(func() func() {
		q := newQueue(1<<20, newMetrics(), zap.NewNop())
		for range 2 * blockSize {
			q.push(ev)
		}
		require.Len(t, q.take(nil, writeChunk), 2*blockSize)
		return func() {
			for range 2 * blockSize {
				q.push(ev)
			}
		}
	})
	require.Zero(t, mallocs, "allocations in %d pushes after a take", 2*blockSize)
}

// TestLogHealthySaysHowManyWereDropped: while the queue drops, Healthy
// says how many events were dropped so far (/readyz shows it). The writer
// is held in its pace (an hour) with one event queued, so the queue of one
// drops the next two (a mutation audit: not counting them passed every
// test).
func TestLogHealthySaysHowManyWereDropped(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName), WithQueueLimit(1), func(o *options) { o.commitEvery = time.Hour })
	require.NoError(t, err)
	defer l.Close()
	require.True(t, l.Append(Event{Type: TypeConnected, CID: "first"}), "an idle writer writes at once")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, l.Wait(ctx, 0))
	require.True(t, l.Append(Event{Type: TypeConnected, CID: "queued"}), "waits out the pace")
	for i := range 2 {
		require.False(t, l.Append(Event{Type: TypeConnected, CID: fmt.Sprint("dropped-", i)}))
	}
	assert.EqualError(t, l.Healthy(), "event log: queue full, events dropped (2 so far)")
}

// TestQueueKeepsAtMostATransactionsSpares: however many blocks the writer
// gives back at once, the queue keeps maxSpareBurst of them for reuse
// (a mutation audit: keeping one more passed every test).
func TestQueueKeepsAtMostATransactionsSpares(t *testing.T) {
	q := newQueue(1<<20, newMetrics(), zap.NewNop())
	for range 2 * maxSpareBurst * blockSize {
		q.push(Event{Type: TypeConnected, CID: "c"})
	}
	blocks := q.takeBlocks(nil, 1<<20)
	require.Len(t, blocks, 2*maxSpareBurst)
	q.release(blocks)
	assert.Equal(t, maxSpareBurst*blockBytes, q.spareBytes())
}

// TestQueueLetsGoOfWhatItGaveBack: the blocks given back hold none of
// their events' strings (the registry's, or garbage), the writer's slice
// holds none of the blocks, and once the idle writer drops the spares
// nothing holds them: else a burst's blocks stayed in the heap for good
// after the idle release (a mutation audit: dropping any of the three
// clears passed every test).
func TestQueueLetsGoOfWhatItGaveBack(t *testing.T) {
	q := newQueue(1<<20, newMetrics(), zap.NewNop())
	for range 3 * blockSize {
		q.push(Event{Type: TypeConnected, CID: "a client", Session: "s"})
	}
	blocks := q.takeBlocks(nil, logChunk)
	q.release(blocks)
	for i, b := range blocks[:cap(blocks)] {
		assert.Nil(t, b, "block %d still in the writer's slice", i)
	}
	require.Len(t, q.spare, 3)
	spares := q.spare
	for i, b := range spares {
		for j, qe := range b[:cap(b)] {
			require.Equal(t, queued{}, qe, "spare block %d keeps event %d", i, j)
		}
	}
	q.dropSpares()
	for i, b := range spares[:cap(spares)] {
		assert.Nil(t, b, "spare %d still held after dropSpares", i)
	}
}

// TestLogWrittenGivesItsBlocksBack: the single node's writer gives the
// blocks it wrote back (written), and the next pushes reuse them (a
// mutation audit: dropping written's release passed every test).
func TestLogWrittenGivesItsBlocksBack(t *testing.T) {
	ev := Event{Type: TypeDisconnected, CID: "c"}
	mallocs := leastMallocs(func() func() {
		q := newQueue(1<<20, newMetrics(), zap.NewNop())
		for range 3 * blockSize {
			q.push(ev)
		}
		q.written(q.takeBlocks(nil, logChunk))
		return func() {
			for range 2 * blockSize {
				q.push(ev)
			}
		}
	})
	require.Zero(t, mallocs, "allocations in %d pushes after a write", 2*blockSize)
}

// TestPutBackKeepsBlocksOfBlockSize: a batch the stream could not publish
// goes back in blocks of blockSize, as pushed: one block of the whole
// batch (up to writeChunk events) was never reused, grew under the pushes
// after it, and was taken whole past the take's max (a mutation audit:
// putting the batch back as one block passed every test).
func TestPutBackKeepsBlocksOfBlockSize(t *testing.T) {
	q := newQueue(1<<20, newMetrics(), zap.NewNop())
	for range 3 * blockSize {
		q.push(Event{Type: TypeConnected, CID: "c"})
	}
	q.putBack(q.take(nil, writeChunk))
	require.Equal(t, 3*blockSize, q.len())
	blocks := q.takeBlocks(nil, blockSize)
	require.Len(t, blocks, 1, "one block, as the take's max asks")
	assert.Len(t, blocks[0], blockSize)
	assert.Equal(t, blockSize, cap(blocks[0]))
}

// TestNotifierNeverGoesBack: advance is called with stale seqs (a tail
// that starts behind the stream's last seq, found first, replays from
// there; an Info answer older than the tail's event), and the newest seq
// never goes back for them (EVENTS.md: a seq only grows); reset alone
// sets a lower one (a mutation audit: storing every advance's seq passed
// every test). Each call wakes the waiters.
func TestNotifierNeverGoesBack(t *testing.T) {
	n := newNotifier()
	woken := n.changed()
	n.advance(10)
	assert.EqualValues(t, 10, n.newest.Load())
	requireClosed(t, woken)
	woken = n.changed()
	n.advance(4) // the tail's replay
	assert.EqualValues(t, 10, n.newest.Load())
	requireClosed(t, woken)
	n.reset(3) // the stream made anew
	assert.EqualValues(t, 3, n.newest.Load())
}

func requireClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	default:
		t.Fatal("the waiters were not woken")
	}
}

// closedQueue is a queue of one event, closed, whose store took a write
// just now: only the abandon, the backoff or closeGrace give it up.
func closedQueue() *queue {
	q := newQueue(1<<20, newMetrics(), zap.NewNop())
	q.push(Event{Type: TypeConnected, CID: "c"})
	q.close()
	q.wrote()
	return q
}

// TestRetryAfterGivesUp: each of retryAfter's three reasons to give a
// closed queue's events up does so alone and at once, and an open queue's
// wait doubles (a mutation audit: dropping the abandon's or the
// backoff's reason, not doubling the wait, or a closeGrace of 30 s
// rather than the 3 s docs/events.md gives passed every test: the
// reasons cover for each other in the tests of a stop).
func TestRetryAfterGivesUp(t *testing.T) {
	log := zap.NewNop()
	t.Run("abandoned", func(t *testing.T) {
		q := closedQueue()
		q.abandon()
		backoff := time.Millisecond
		require.True(t, q.retryAfter(&backoff, log), "the stop is out of time")
		require.EqualValues(t, 1, q.givenUp.Load())
	})
	t.Run("backoff", func(t *testing.T) {
		q := closedQueue()
		backoff := 2 * time.Second
		require.True(t, q.retryAfter(&backoff, log), "the wait has reached 2 s")
	})
	t.Run("grace", func(t *testing.T) {
		q := closedQueue()
		q.mu.Lock()
		q.closedAt = time.Now().Add(-3 * time.Second) // about 3 s, as docs/events.md says
		q.mu.Unlock()
		q.wroteAt = time.Time{}
		backoff := time.Millisecond
		require.True(t, q.retryAfter(&backoff, log), "3 s since the close and no write")
	})
	t.Run("open", func(t *testing.T) {
		q := newQueue(1<<20, newMetrics(), zap.NewNop())
		backoff := time.Millisecond
		require.False(t, q.retryAfter(&backoff, log))
		require.Equal(t, 2*time.Millisecond, backoff, "doubled")
	})
}
