package events

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A trickle's events are one a transaction, and recent keeps each
// transaction's arena and offs as a segment of its own until 2,048 newer
// events came: sized for a burst (16 KiB and 256 offsets at least), a
// fleet's quiet hours held 2,048 of them, 40 MB.
func TestTrickleKeepsSmallSegments(t *testing.T) {
	l := openLog(t)
	for i := range 3 {
		appendConnects(t, l, "trickle-", i, 1)
	}
	l.recent.mu.RLock()
	defer l.recent.mu.RUnlock()
	require.Len(t, l.recent.segs, 3, "one transaction an event")
	for i, s := range l.recent.segs {
		require.LessOrEqual(t, cap(s.buf), 2048, "segment %d's arena", i)
		require.LessOrEqual(t, cap(s.offs), 2, "segment %d's offs", i)
	}
}
