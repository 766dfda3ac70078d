package events

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEventIDsCutFromBatches: every ID is the prefix and the next counter
// in base 36, unique, and an ID costs under a tenth of an allocation.
func TestEventIDsCutFromBatches(t *testing.T) {
	c := newIDCutter("evt-0123456789abcdef-")
	seen := make(map[string]bool)
	for i := 1; i <= 5*idBatch+3; i++ {
		id := c.id()
		require.Equal(t, "evt-0123456789abcdef-"+strconv.FormatUint(uint64(i), 36), id)
		require.False(t, seen[id], "%s twice", id)
		seen[id] = true
	}
	allocs := testing.AllocsPerRun(10*idBatch, func() { _ = c.id() })
	require.Less(t, allocs, 0.1)
}

// TestIDWriterWritesTheNextIDAsAJSONString: the prefix and the next
// counter in base 36, quoted, unique.
func TestIDWriterWritesTheNextIDAsAJSONString(t *testing.T) {
	w := newIDWriter("evt-0123456789abcdef-")
	seen := make(map[string]bool)
	for i := 1; i <= 100; i++ {
		var id string
		require.NoError(t, json.Unmarshal(w.appendID(nil), &id))
		require.Equal(t, "evt-0123456789abcdef-"+strconv.FormatUint(uint64(i), 36), id)
		require.False(t, seen[id], "%s twice", id)
		seen[id] = true
	}
	require.Regexp(t, `^evt-[0-9a-f]{16}-$`, idPrefix())
	require.NotEqual(t, idPrefix(), idPrefix(), "each process (log) its own")
}

// TestLogGivesIDsInItsWriter: events queued without an id get the
// writer's, in log order; one with an id keeps it.
func TestLogGivesIDsInItsWriter(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName))
	require.NoError(t, err)
	defer l.Close()
	for i := range 300 {
		ev := Event{Type: TypeConnected, CID: "c" + strconv.Itoa(i)}
		if i == 7 {
			ev.ID = "mine-7"
		}
		require.True(t, l.Append(ev))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, l.Wait(ctx, 299))
	evs, err := l.Read(ctx, 0, 1000)
	require.NoError(t, err)
	require.Len(t, evs, 300)
	prefix := evs[0].ID[:len(evs[0].ID)-1]
	require.Regexp(t, `^evt-[0-9a-f]{16}-$`, prefix)
	n := uint64(0)
	for i, ev := range evs {
		if i == 7 {
			require.Equal(t, "mine-7", ev.ID)
			continue
		}
		n++
		require.Equal(t, prefix+strconv.FormatUint(n, 36), ev.ID, "seq %d", ev.Seq)
	}
}

// TestPushAllocatesNothing: the event loops' push makes no id (nor
// anything else) while the queue has spare blocks: counted, not averaged
// (an ID string per 64 events averages to 0 in AllocsPerRun).
func TestPushAllocatesNothing(t *testing.T) {
	require.Zero(t, pushMallocs(Event{Type: TypeConnected, CID: "c"}), "allocations in %d pushes", 2*blockSize)
}
