package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// ReadRaw answers the same from memory (the newest events) as from the
// file (older ones, and all of them after a reopen), across the seams of
// transactions.
func TestLogReadRawFromMemoryIsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), events.FileName)
	l := openLog(t, path)
	const total = 20000
	for burst := range 4 { // several transactions, so several segments
		for i := range total / 4 {
			require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c%d-%d", burst, i), Session: "s"}))
		}
		waitNewest(t, l, uint64((burst+1)*total/4))
	}
	ctx := context.Background()
	reads := []struct{ after uint64 }{{0}, {4999}, {11000}, {14999}, {19950}, {total}}
	before := map[uint64][]events.Raw{}
	for _, r := range reads {
		raws, err := l.ReadRaw(ctx, r.after, 1000)
		require.NoError(t, err)
		evs, err := l.Read(ctx, r.after, 1000)
		require.NoError(t, err)
		requireRawIs(t, evs, raws, r.after)
		before[r.after] = raws
	}
	require.NoError(t, l.Close())

	l = openLog(t, path) // nothing in memory: every answer from the file
	defer l.Close()
	for _, r := range reads {
		raws, err := l.ReadRaw(ctx, r.after, 1000)
		require.NoError(t, err)
		require.Equal(t, before[r.after], raws, "after %d", r.after)
	}
}

func requireRawIs(t *testing.T, evs []events.Event, raws []events.Raw, after uint64) {
	t.Helper()
	require.Len(t, raws, len(evs), "after %d", after)
	for i := range evs {
		want, err := events.AppendJSON(nil, &evs[i])
		require.NoError(t, err)
		require.Equal(t, after+uint64(i)+1, raws[i].Seq)
		require.Equal(t, string(want), string(raws[i].JSON), "seq %d", raws[i].Seq)
	}
}
