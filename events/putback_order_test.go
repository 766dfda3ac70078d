package events

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogWriteFailureKeepsTheOrder: events queued while the writer holds
// a batch whose write then fails go after that batch on the retry. The
// first commit cannot move the floor file (its tmp path is a directory),
// and an event is appended right after the writer's take; once the write
// has failed the directory goes and the retry writes both, in order (a
// mutation audit: putting the failed blocks back behind the queue passed
// every test).
func TestLogWriteFailureKeepsTheOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	blocker := floorPath(path) + ".tmp"
	require.NoError(t, os.Mkdir(blocker, 0o700))
	var l *Log
	var once sync.Once
	opened := make(chan struct{})
	hook := func(took int) {
		if took > 0 {
			once.Do(func() {
				<-opened
				assert.True(t, l.Append(Event{Type: TypeConnected, CID: "second"}))
			})
		}
	}
	l, err := Open(path, func(o *options) { o.afterTake = hook })
	require.NoError(t, err)
	defer l.Close()
	close(opened)
	require.True(t, l.Append(Event{Type: TypeConnected, CID: "first"}))
	deadline := time.Now().Add(10 * time.Second)
	for l.Healthy() == nil {
		require.True(t, time.Now().Before(deadline), "the write never failed")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, os.Remove(blocker))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, l.Wait(ctx, 1))
	for l.Newest() < 2 {
		require.NoError(t, l.Wait(ctx, l.Newest()))
	}
	got, err := l.Read(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "first", got[0].CID)
	assert.Equal(t, "second", got[1].CID)
}
