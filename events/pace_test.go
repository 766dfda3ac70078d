package events

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Under load the writer gathers events for its pace (commitEvery) rather
// than committing each as it comes: an event that finds the writer idle is
// written at once, the next waits out the pace (an hour here) or Close,
// which cuts it short. A mutation audit: never pacing (wait > 0 flipped,
// or pacing only while a Stored call waits) and a Close that does not urge
// the paced writer passed every test. The second event must stay unwritten
// for a 1 s window: the correct writer holds it an hour, so the window can
// only make the test miss a mutant, never fail a good run.
func TestLogGathersEventsForItsPace(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName), func(o *options) { o.commitEvery = time.Hour })
	require.NoError(t, err)
	require.True(t, l.Append(Event{Type: TypeConnected, CID: "first"}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, l.Wait(ctx, 0), "an idle writer writes at once")

	require.True(t, l.Append(Event{Type: TypeConnected, CID: "paced"}))
	window, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	require.ErrorIs(t, l.Wait(window, 1), context.DeadlineExceeded, "the second event waits out the pace")
	require.Equal(t, uint64(1), l.Newest())

	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("Close waited out the writer's pace")
	}
	require.Equal(t, uint64(2), l.Newest(), "Close writes what the pace held")
}
