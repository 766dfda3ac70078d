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
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/events"
)

// A kill -9 inside the commit that moved the floor file leaves the file
// moved and the commit lost. The reserve is counted from the newest seq
// already committed (docs/events.md), so the crashed log's newest is not
// below the reserve less 65,536, and its restart is a crash, not a backup
// put back: seqs go on after its newest and a reader after it is not
// answered 410. Counted from the commit's last seq, as an earlier build
// did, the restart read as a put-back (a mutation audit found every test
// passing with it). The commit is made to fail after the floor moved by
// cutting events.db under the log (boltkeep refuses the transaction).
func TestLogCrashInTheCommitThatMovedTheFloorGoesOnAfterItsNewest(t *testing.T) {
	path := logPath(t)
	dir := filepath.Dir(path)
	l := openLog(t, path)
	appendConnected(t, l, 3)
	require.NoError(t, l.Close()) // the floor settles on 3: the next commit moves it
	backup, err := os.ReadFile(path)
	require.NoError(t, err)

	l = openLog(t, path, events.WithLogger(zap.NewNop()))
	require.NoError(t, os.Truncate(path, 0))
	for range 5 {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "floor"}))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, exact := readFloorFile(t, dir); !exact {
			assert.EqualValues(t, 3+1<<16, n, "the reserve counted from the newest committed seq, not from the commit's last (8)")
			break
		}
		require.True(t, time.Now().Before(deadline), "the commit never moved the floor file")
		time.Sleep(5 * time.Millisecond)
	}
	assert.EqualValues(t, 3, l.Newest(), "the commit failed")

	// The crash: the floor file as the commit left it, events.db as it was.
	running, err := os.ReadFile(filepath.Join(dir, floorFile))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = l.CloseWithin(ctx) // its events are lost, as in the crash
	require.NoError(t, os.WriteFile(filepath.Join(dir, floorFile), running, 0o600))
	require.NoError(t, os.WriteFile(path, backup, 0o600))

	core, logs := observer.New(zapcore.WarnLevel)
	l = openLog(t, path, events.WithLogger(zap.New(core)))
	defer l.Close()
	assert.Zero(t, logs.Len(), "a crash, not a backup put back: %v", logs.All())
	assert.EqualValues(t, 3, l.Newest())
	appendConnected(t, l, 1)
	evs, err := l.Read(context.Background(), 3, 10)
	require.NoError(t, err, "a reader that had every committed event missed none")
	require.Len(t, evs, 1)
	assert.EqualValues(t, 4, evs[0].Seq)
}

// 2^62 is the largest floor taken (docs/events.md: a number past it is
// damage): a log begun anew beside it goes on after it.
func TestLogBegunAnewAfterTheLargestFloor(t *testing.T) {
	path := logPath(t)
	const most = 1 << 62
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), floorFile), []byte("4611686018427387904\n"), 0o600))
	l := openLog(t, path, events.WithLogger(zap.NewNop()))
	defer l.Close()
	after, exact, anew := l.BegunAnew()
	assert.True(t, anew)
	assert.True(t, exact)
	assert.EqualValues(t, uint64(most), after)
	assert.EqualValues(t, uint64(most), l.Newest())
}

// A first start, with neither events.db nor events.seq, begins nothing
// anew: no WARN, and BegunAnew says no.
func TestLogFirstStartSaysNothingOfAFloor(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	l := openLog(t, logPath(t), events.WithLogger(zap.New(core)))
	defer l.Close()
	_, _, anew := l.BegunAnew()
	assert.False(t, anew)
	assert.Zero(t, logs.Len(), "%v", logs.All())
	assert.Zero(t, l.Oldest(), "an empty log keeps no seq")
	appendConnected(t, l, 1)
	assert.EqualValues(t, 1, l.Oldest())
}

// An older events.db put back, then the retention trimming up to the
// floor itself: the oldest seq kept is the floor + 1 (the floor's own
// event is gone with the gap), as docs/events.md says of the log's oldest.
func TestLogOldestPastAGapTrimmedToTheFloor(t *testing.T) {
	path := logPath(t)
	l := openLog(t, path)
	appendConnected(t, l, 4)
	require.NoError(t, l.Close())
	backup, err := os.ReadFile(path)
	require.NoError(t, err)
	l = openLog(t, path)
	appendConnected(t, l, 6)
	require.NoError(t, l.Close()) // floor 10
	require.NoError(t, os.WriteFile(path, backup, 0o600))

	l = openLog(t, path, events.WithRetention(2), events.WithLogger(zap.NewNop()))
	defer l.Close()
	require.EqualValues(t, 10, l.Newest())
	// 11: the retention keeps 10 and 11, and the commit trims to 10 (the
	// trim is in its transaction, seen with its newest seq), which is in
	// the gap.
	appendConnected(t, l, 1)
	assert.EqualValues(t, 11, l.Oldest())
	_, err = l.Read(context.Background(), 9, 10)
	var gone *events.GoneError
	require.ErrorAs(t, err, &gone)
	assert.EqualValues(t, 11, gone.Oldest)
}
