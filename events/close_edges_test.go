package events_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/cliser/cliser/events"
)

// A close that gives up one queued event is an error too (docs/events.md:
// the stop exits 1 saying how many), not only one that gives up many; a
// mutation audit found "more than one" passing every test. The first
// commit cannot move the floor file (its tmp path is a directory), so the
// writes fail and the event waits.
func TestLogCloseReportsASingleEventGivenUp(t *testing.T) {
	path := logPath(t)
	require.NoError(t, os.Mkdir(filepath.Join(filepath.Dir(path), floorFile+".tmp"), 0o700))
	l := openLog(t, path, events.WithLogger(zap.NewNop()))
	require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "one"}))
	deadline := time.Now().Add(10 * time.Second)
	for l.Healthy() == nil {
		require.True(t, time.Now().Before(deadline), "the write never failed")
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // give up at once rather than retry for 3 s
	err := l.CloseWithin(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 queued events were not written")
}
