package events

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Stored cuts the writer's pace short: the admin API answers an
// operator's ban or credential once its event is stored, and a writer
// that slept out its pace (commitEvery) after each commit held every
// answer after the first up to 100 ms: 50 bans added one after another
// took 5.3 s instead of 0.4 s. A pace of an hour here: waited out, the
// second Stored would miss its deadline. Close likewise does not wait.
func TestLogStoredCutsThePaceShort(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName), func(o *options) { o.commitEvery = time.Hour })
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 3 {
		require.True(t, l.Append(Event{Type: TypeBanCreated, Kind: "cid", Value: "paced"}))
		require.NoError(t, l.Stored(ctx), "event %d stored within 20 s", i+1)
		require.Equal(t, uint64(i+1), l.Newest())
	}
	require.True(t, l.Append(Event{Type: TypeBanDeleted, Kind: "cid", Value: "paced"}))
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("Close waited out the writer's pace")
	}
	require.Equal(t, uint64(4), l.Newest(), "the event queued before Close is written")
}
