package events_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/events"
)

const floorFile = "events.seq"

func appendConnected(t *testing.T, l *events.Log, n int) {
	t.Helper()
	from := l.Newest()
	for range n {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "floor"}))
	}
	waitNewest(t, l, from+uint64(n))
}

// readFloorFile is the floor file's number, and whether it is exact (a
// clean stop's) rather than a reserve.
func readFloorFile(t *testing.T, dir string) (uint64, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, floorFile))
	require.NoError(t, err)
	text, reserved := strings.CutSuffix(strings.TrimSpace(string(b)), " reserved")
	n, err := strconv.ParseUint(text, 10, 64)
	require.NoError(t, err, "%q", b)
	return n, !reserved
}

// events.db moved away after a clean stop (as a damaged one's refusal
// says to do): the new log goes on right after the old one's newest seq,
// so seq never goes back. A reader that had every event waits for the
// next; one behind is answered 410, as its events are gone.
func TestLogBegunAnewAfterACleanStopGoesOnAfterItsNewest(t *testing.T) {
	path := logPath(t)
	l := openLog(t, path)
	appendConnected(t, l, 10)
	require.NoError(t, l.Close())
	floor, exact := readFloorFile(t, filepath.Dir(path))
	assert.EqualValues(t, 10, floor, "a clean stop settles the floor on the newest seq")
	assert.True(t, exact)
	require.NoError(t, os.Rename(path, path+".damaged"))

	core, logs := observer.New(zapcore.WarnLevel)
	l = openLog(t, path, events.WithLogger(zap.New(core)))
	defer l.Close()
	assert.EqualValues(t, 10, l.Newest())
	require.Equal(t, 1, logs.FilterMessageSnippet("the event log begins anew").Len(), "said once: %v", logs.All())
	after, exact, anew := l.BegunAnew()
	assert.True(t, anew)
	assert.True(t, exact, "seqs 1 to 10 all had events")
	assert.EqualValues(t, 10, after)

	_, err := l.Read(context.Background(), 5, 100)
	var gone *events.GoneError
	require.True(t, errors.As(err, &gone), "a reader after 5 missed 6 to 10: %v", err)
	assert.EqualValues(t, 11, gone.Oldest)
	evs, err := l.Read(context.Background(), 10, 100)
	require.NoError(t, err, "a reader after 10 missed nothing")
	assert.Empty(t, evs)

	caughtUp := waiting(l, 10)
	appendConnected(t, l, 1)
	require.NoError(t, <-caughtUp, "the reader after 10 is woken by the new log's first event")
	evs, err = l.Read(context.Background(), 10, 100)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.EqualValues(t, 11, evs[0].Seq)
}

// While the log runs, the floor file is ahead of every committed seq, so
// that a kill -9 followed by a lost events.db cannot hand out a seq
// again; the new log then skips at most the reserve.
func TestLogFloorFileStaysAheadOfCommittedSeqs(t *testing.T) {
	path := logPath(t)
	dir := filepath.Dir(path)
	l := openLog(t, path)
	appendConnected(t, l, 25)
	floor, exact := readFloorFile(t, dir)
	assert.False(t, exact, "a reserve while running")
	assert.GreaterOrEqual(t, floor, l.Newest(), "the floor covers every committed seq before a stop")
	assert.LessOrEqual(t, floor, l.Newest()+1<<16, "and is ahead by at most the reserve")
	// The crash: the file as it was while running, then events.db gone.
	closeAsCrash(t, l, dir)
	require.NoError(t, os.Remove(path))
	l = openLog(t, path)
	defer l.Close()
	after, exact, anew := l.BegunAnew()
	assert.True(t, anew)
	assert.False(t, exact, "how many of the reserve's seqs had events is not known")
	assert.Equal(t, floor, after)
	appendConnected(t, l, 1)
	evs, err := l.Read(context.Background(), floor, 10)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, floor+1, evs[0].Seq, "no seq the old log may have given is given again")
}

// A directory in the floor file's place cannot be written over: the
// start called it damaged and "written again", then every commit failed
// and a stop lost the queue (upgrade audit). Open refuses it, naming it.
func TestLogRefusesADirectoryAtTheFloorFile(t *testing.T) {
	path := logPath(t)
	dir := filepath.Dir(path)
	l := openLog(t, path)
	appendConnected(t, l, 3)
	require.NoError(t, l.Close())
	floor := filepath.Join(dir, floorFile)
	require.NoError(t, os.Remove(floor))
	require.NoError(t, os.Mkdir(floor, 0o700))

	_, err := events.Open(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), floor+" is a directory")
	assert.Contains(t, err.Error(), "move it away")

	require.NoError(t, os.Remove(floor))
	l = openLog(t, path)
	defer l.Close()
	assert.EqualValues(t, 3, l.Newest(), "once it is moved away the log opens as it was")
}

// A log begun anew beside a damaged floor file cannot tell where its seqs
// go on: it refuses to open and says what to do. Beside a log that has
// its newest seq, the file is written again, with a warning.
func TestLogDamagedFloorFile(t *testing.T) {
	path := logPath(t)
	dir := filepath.Dir(path)
	l := openLog(t, path)
	appendConnected(t, l, 3)
	require.NoError(t, l.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, floorFile), []byte("garbage\x00"), 0o600))

	core, logs := observer.New(zapcore.WarnLevel)
	l = openLog(t, path, events.WithLogger(zap.New(core)))
	assert.EqualValues(t, 3, l.Newest())
	assert.Equal(t, 1, logs.FilterMessageSnippet("seq floor file is damaged").Len(), "%v", logs.All())
	again, _ := readFloorFile(t, dir)
	assert.GreaterOrEqual(t, again, uint64(3), "written again at once")
	require.NoError(t, l.Close())

	require.NoError(t, os.WriteFile(filepath.Join(dir, floorFile), []byte("12x\n"), 0o600))
	require.NoError(t, os.Remove(path))
	_, err := events.Open(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, floorFile)+" should hold one number")
	assert.Contains(t, err.Error(), `"12x\n" (not a number)`)
	assert.Contains(t, err.Error(), "remove it to start seqs from 1 again")

	// A number no log reaches would wrap seqs round to 0: damage too.
	for _, huge := range []string{"18446744073709551615", "4611686018427387905", "1234567890123456789012"} { // the last past a uint64: not "not a number" (audit)
		require.NoError(t, os.WriteFile(filepath.Join(dir, floorFile), []byte(huge+"\n"), 0o600))
		_, err = events.Open(path)
		require.Error(t, err, huge)
		assert.Contains(t, err.Error(), "(a number past any seq a log gives, at most 4611686018427387904)", huge)
	}
}

// A floor file that cannot be written is a failed commit: the events wait
// in memory, /readyz's note names the file, and they are written once it
// can be.
func TestLogFloorFileThatCannotBeWrittenHoldsTheEvents(t *testing.T) {
	path := logPath(t)
	dir := filepath.Dir(path)
	const total = 2 + 1<<16 // past the floor the first commit writes, 1 + the reserve
	l := openLog(t, path, events.WithQueueLimit(total))
	defer l.Close()
	appendConnected(t, l, 1)
	// The commit that passes the reserve must move the floor; its tmp
	// file is a directory, which cannot be opened for writing.
	require.NoError(t, os.Mkdir(filepath.Join(dir, floorFile+".tmp"), 0o700))
	for range total - 1 {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "floor"}))
	}
	require.Eventually(t, func() bool { return l.Healthy() != nil }, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, l.Healthy().Error(), "seq floor "+filepath.Join(dir, floorFile))
	assert.LessOrEqual(t, l.Newest(), uint64(1+1<<16), "no commit past the floor on disk")

	require.NoError(t, os.Remove(filepath.Join(dir, floorFile+".tmp")))
	waitNewest(t, l, total)
	require.Eventually(t, func() bool { return l.Healthy() == nil }, 10*time.Second, 10*time.Millisecond)
	floor, _ := readFloorFile(t, dir)
	assert.GreaterOrEqual(t, floor, l.Newest())
}

// An older events.db put back (a backup, as a damaged one's refusal
// offers) beside a clean stop's floor: its seqs would have gone back to
// its own newest. They go on after the floor, a reader after a seq before
// it is answered 410 (it missed events that are gone), the backup's
// events stay readable, and so it stays after a restart.
func TestLogOlderFilePutBackGoesOnAfterTheFloor(t *testing.T) {
	path := logPath(t)
	l := openLog(t, path)
	appendConnected(t, l, 4)
	require.NoError(t, l.Close())
	backup, err := os.ReadFile(path)
	require.NoError(t, err)
	l = openLog(t, path)
	appendConnected(t, l, 6)
	require.NoError(t, l.Close())
	require.NoError(t, os.WriteFile(path, backup, 0o600))

	core, logs := observer.New(zapcore.WarnLevel)
	l = openLog(t, path, events.WithLogger(zap.New(core)))
	assert.EqualValues(t, 10, l.Newest(), "the seqs 5 to 10 were given")
	assert.Equal(t, 1, logs.FilterMessageSnippet("events.db is older than the event log the server last stopped with").Len(), "%v", logs.All())
	_, _, anew := l.BegunAnew()
	assert.False(t, anew, "the backup's events are there")
	assertGap := func(l *events.Log) {
		t.Helper()
		for _, after := range []uint64{0, 2, 4, 9} {
			_, err := l.Read(context.Background(), after, 100)
			var gone *events.GoneError
			require.True(t, errors.As(err, &gone), "a reader after %d missed events up to 10: %v", after, err)
			assert.EqualValues(t, 11, gone.Oldest)
		}
		old, err := l.LatestCID(context.Background(), "floor", 100)
		require.NoError(t, err)
		assert.Len(t, old, 5, "the backup's four and the new one, newest first")
		assert.EqualValues(t, 4, old[len(old)-4].Seq)
	}
	assert.EqualValues(t, 11, l.Oldest(), "every seq from the oldest is kept: past the gap")
	appendConnected(t, l, 1)
	evs, err := l.Read(context.Background(), 10, 100)
	require.NoError(t, err, "a reader after 10 missed nothing")
	require.Len(t, evs, 1)
	assert.EqualValues(t, 11, evs[0].Seq, "not 5: that seq was given")
	assertGap(l)
	require.NoError(t, l.Close())

	l = openLog(t, path, events.WithLogger(zap.New(core)))
	defer l.Close()
	assert.EqualValues(t, 11, l.Newest())
	assertGap(l)
	assert.Equal(t, 1, logs.FilterMessageSnippet("events.db is older").Len(), "said once, at the restore")
}

// The same after a kill -9: the floor is then a reserve, counted from a
// committed seq, and again from the newest once a commit landed, so a
// backup taken at the clean stop before the run (newest 4) is told from
// the crash: its seqs go on after the reserve, and a reader after one of
// the run's seqs (5 to 10) is answered 410 rather than given seqs again
// (black-box audit: seqs 11 and 12 were handed out twice).
func TestLogOlderFilePutBackAfterACrashGoesOnAfterTheReserve(t *testing.T) {
	path := logPath(t)
	dir := filepath.Dir(path)
	l := openLog(t, path)
	appendConnected(t, l, 4)
	require.NoError(t, l.Close())
	backup, err := os.ReadFile(path)
	require.NoError(t, err)
	l = openLog(t, path)
	appendConnected(t, l, 3)
	appendConnected(t, l, 3)
	floor, exact := readFloorFile(t, dir)
	require.False(t, exact)
	assert.Greater(t, floor, uint64(4+1<<16), "counted again from the first commit's last seq once it landed")
	assert.LessOrEqual(t, floor, l.Newest()+1<<16)

	// The crash: the floor file as it was while running; then the backup.
	closeAsCrash(t, l, dir)
	require.NoError(t, os.WriteFile(path, backup, 0o600))
	core, logs := observer.New(zapcore.WarnLevel)
	l = openLog(t, path, events.WithLogger(zap.New(core)))
	defer l.Close()
	assert.Equal(t, 1, logs.FilterMessageSnippet("events.db is older than the event log the server last stopped with").Len(), "%v", logs.All())
	assert.Equal(t, floor, l.Newest())
	_, err = l.Read(context.Background(), 8, 100)
	var gone *events.GoneError
	require.True(t, errors.As(err, &gone), "a reader after 8 missed events: %v", err)
	assert.Equal(t, floor+1, gone.Oldest)
	appendConnected(t, l, 1)
	evs, err := l.Read(context.Background(), floor, 10)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, floor+1, evs[0].Seq, "not 5: seqs 5 to 10 were given")
}

// A crash alone, with the log as the crash left it, is not a put-back:
// seqs go on after the log's own newest.
func TestLogCrashAloneGoesOnAfterItsNewest(t *testing.T) {
	path := logPath(t)
	dir := filepath.Dir(path)
	l := openLog(t, path)
	appendConnected(t, l, 4)
	require.NoError(t, l.Close())
	l = openLog(t, path)
	appendConnected(t, l, 3)
	closeAsCrash(t, l, dir)
	core, logs := observer.New(zapcore.WarnLevel)
	l = openLog(t, path, events.WithLogger(zap.New(core)))
	defer l.Close()
	assert.Zero(t, logs.Len(), "%v", logs.All())
	assert.EqualValues(t, 7, l.Newest())
	appendConnected(t, l, 1)
	evs, err := l.Read(context.Background(), 7, 10)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.EqualValues(t, 8, evs[0].Seq)
}

// closeAsCrash closes l and leaves its floor file as it was while the log
// ran: what a kill -9 leaves (a clean close settles the file).
func closeAsCrash(t *testing.T, l *events.Log, dir string) {
	t.Helper()
	running, err := os.ReadFile(filepath.Join(dir, floorFile))
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, floorFile), running, 0o600))
}
