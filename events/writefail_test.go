package events

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Each failed write is counted (cliser_events_store_errors_total) and the
// fault is logged once, not at every retry. A mutation audit: dropping the
// count, or logging every retry, passed every test. The writes fail as a
// floor file that cannot be written makes them (floor.go): its tmp file
// is a directory.
func TestLogWriteFailuresAreCountedAndLoggedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	const total = 2 + 1<<16 // past the floor the first commit writes
	core, logs := observer.New(zapcore.ErrorLevel)
	l, err := Open(path, WithQueueLimit(total), WithLogger(zap.New(core)))
	require.NoError(t, err)
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.True(t, l.Append(Event{Type: TypeConnected, CID: "first"}))
	require.NoError(t, l.Wait(ctx, 0))
	tmp := floorPath(path) + ".tmp"
	require.NoError(t, os.Mkdir(tmp, 0o700))
	for range total - 1 {
		require.True(t, l.Append(Event{Type: TypeConnected, CID: "failing"}))
	}
	require.Eventually(t, func() bool { return testutil.ToFloat64(l.m.storeErrors) >= 3 }, 20*time.Second, 10*time.Millisecond,
		"three failed writes counted")
	assert.Equal(t, 1, logs.FilterMessageSnippet("writing to the log failed").Len(), "the fault is logged once: %v", logs.All())

	require.NoError(t, os.Remove(tmp))
	require.NoError(t, l.Wait(ctx, total-1), "written once the floor can be")
}
