package events

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// A closed queue's writer gives its events up once the store has taken
// nothing for closeGrace, not closeGrace after the close: a drain that
// ran longer than that (a backlog after an outage, written at the stop)
// and then met one failed write gave every event still queued up at once,
// with no retry, though the store had taken a write a moment before.
func TestClosedQueueRetriesAFailureRightAfterAWrite(t *testing.T) {
	q := newQueue(1<<20, newMetrics(), zap.NewNop())
	for range 10 {
		require.True(t, q.push(Event{Type: TypeConnected, CID: "c"}))
	}
	q.close()
	q.mu.Lock()
	q.closedAt = time.Now().Add(-2 * closeGrace) // the drain has run for a while
	q.mu.Unlock()
	q.wrote() // and its last write just went through

	backoff := 10 * time.Millisecond
	require.False(t, q.retryAfter(&backoff, zap.NewNop()), "the first failure right after a write is retried")
	require.Zero(t, q.givenUp.Load())

	// A store that has taken nothing for closeGrace is given up.
	q.wroteAt = time.Now().Add(-closeGrace)
	require.True(t, q.retryAfter(&backoff, zap.NewNop()))
	require.EqualValues(t, 10, q.givenUp.Load())
}

// A writer's wait after a failed write, begun before the log's close, ends
// with the close: a 5 s wait held the stop, and a second signal's
// abandon too, for up to that long (signals audit).
func TestAWaitBegunBeforeTheCloseEndsWithIt(t *testing.T) {
	q := newQueue(1<<20, newMetrics(), zap.NewNop())
	require.True(t, q.push(Event{Type: TypeConnected, CID: "c"}))
	backoff := 5 * time.Second
	start := time.Now()
	time.AfterFunc(50*time.Millisecond, q.close) // while the wait below runs
	q.retryAfter(&backoff, zap.NewNop())
	require.Less(t, time.Since(start), 4*time.Second, "the wait begun before the close went on after it")
}
