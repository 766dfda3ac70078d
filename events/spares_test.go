package events

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIdleLogLetsGoOfItsSpares: after a burst the writer keeps its reuse
// buffers (its arena and offs, the queue's spare blocks)
// while events come, and lets go of them once the log has been idle for
// spareIdle; the next burst works as before.
func TestIdleLogLetsGoOfItsSpares(t *testing.T) {
	l := openLog(t)
	burst := func(from, n int) { appendConnects(t, l, "spare-", from, n) }
	for round := range 2 {
		burst(round*5000, 5000)
		// Read at once: the burst's last commit set it and spareIdle
		// (seconds) has not passed since.
		held := l.spareHeld.Load()
		require.Positive(t, held, "round %d: no spares kept after a burst", round)
		// The writer's arena, its offs of at most 2*logChunk ints, the
		// queue's blocks.
		require.LessOrEqual(t, held, int64(maxSpareArena+8*2*logChunk+maxSpareBurst*blockBytes), "round %d", round)
		waitSparesGone(t, l)
	}
}

// TestBurstAfterIdleMakesItsArenaOnce: a burst after the idle release
// grows its transactions (a few events, then hundreds, then logChunk); the
// writer's arena is made once for the largest of them, in chunks. One
// arena sized for the transaction at hand made a series of powers of two:
// 1.5 MiB for transactions of ~0.5 MB (issue 17, session 13).
func TestBurstAfterIdleMakesItsArenaOnce(t *testing.T) {
	l := openLog(t)
	from := 0
	for round := range 3 {
		made := l.arena.made.Load()
		for _, n := range []int{1, 40, 300, logChunk, logChunk} {
			appendConnects(t, l, "burst-", from, n) // each its own transaction
			from += n
		}
		raw, err := l.ReadRaw(context.Background(), l.Newest()-1, 1)
		require.NoError(t, err)
		largest := logChunk * (len(raw[0].JSON) + 2) // each event's line and its block's share of a key
		require.LessOrEqual(t, l.arena.made.Load()-made, int64(largest+largest/8+2*arenaChunk), "round %d: arena bytes made", round)
		waitSparesGone(t, l)
	}
}

func waitSparesGone(t *testing.T, l *Log) {
	t.Helper()
	deadline := time.Now().Add(spareIdle + 20*time.Second)
	for l.spareHeld.Load() != 0 {
		require.True(t, time.Now().Before(deadline), "the idle writer still holds %d bytes of spares", l.spareHeld.Load())
		time.Sleep(10 * time.Millisecond)
	}
}

// openLog opens a log in a temporary directory, closed at cleanup.
func openLog(t *testing.T) *Log {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), FileName))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// appendConnects appends n connects of clients prefix+from.. and waits
// until the writer has written them.
func appendConnects(t *testing.T, l *Log, prefix string, from, n int) {
	t.Helper()
	now := time.Now().UTC()
	for i := from; i < from+n; i++ {
		require.True(t, l.Append(Event{Type: TypeConnected, Time: now, CID: prefix + strconv.Itoa(i),
			CIP: "127.0.0.1", CPort: "40000", Session: "5f0c2a9e3b1d4c77-1"}))
	}
	deadline := time.Now().Add(30 * time.Second)
	for l.Newest() < uint64(from+n) {
		require.True(t, time.Now().Before(deadline), "the writer did not write events %d to %d", from+1, from+n)
		time.Sleep(time.Millisecond)
	}
}
