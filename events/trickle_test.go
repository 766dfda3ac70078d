package events

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A trickle's events are one a transaction, and recent keeps each
// transaction's arena and offs as a segment of its own until 2,048 newer
// events came: sized for a burst (16 KiB and 256 offsets at least), a
// fleet's quiet hours held 2,048 of them, 40 MB.
func TestTrickleKeepsSmallSegments(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	for i := 1; i <= 3; i++ {
		require.True(t, l.Append(Event{Type: TypeConnected, Time: time.Now().UTC(), CID: "trickle-" + strconv.Itoa(i),
			CIP: "127.0.0.1", CPort: "40000", Session: "5f0c2a9e3b1d4c77-1"}))
		deadline := time.Now().Add(30 * time.Second)
		for l.Newest() < uint64(i) {
			require.True(t, time.Now().Before(deadline), "the writer did not write event %d", i)
			time.Sleep(time.Millisecond)
		}
	}
	l.recent.mu.RLock()
	defer l.recent.mu.RUnlock()
	require.Len(t, l.recent.segs, 3, "one transaction an event")
	for i, s := range l.recent.segs {
		require.LessOrEqual(t, cap(s.buf), 2048, "segment %d's arena", i)
		require.LessOrEqual(t, cap(s.offs), 2, "segment %d's offs", i)
	}
}
