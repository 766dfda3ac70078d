package logstore

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// A burst's Saves never compact below burstFactor bounds; Idle, the
// flusher's word that nothing is being written, compacts as soon as one is
// due, and not before. Load is the last state either way.
func TestIdleCompactsWhenDue(t *testing.T) {
	s := openT(t, t.TempDir(), withCompactMin(500))
	m := model{}
	save := func(put []registry.Record) {
		m.save(put, nil)
		require.NoError(t, s.Save(put, nil))
	}
	save(manyRecords("idle", 400))
	require.NoError(t, s.Idle())
	require.Zero(t, s.Stats().Compactions, "400 entries: none due below the bound")

	save(manyRecords("idle", 400)) // 800: due, but a burst's Save does not compact
	require.Equal(t, 800, s.logEntries)
	require.NoError(t, s.Idle())
	st := s.Stats()
	require.Equal(t, uint64(1), st.Compactions)
	require.Equal(t, uint64(400), st.CompactedRecords)
	require.Zero(t, s.logEntries)
	loadEquals(t, s, m)

	require.NoError(t, s.Idle())
	require.Equal(t, uint64(1), s.Stats().Compactions, "nothing due: nothing done")
	require.NoError(t, s.Close())
	require.NoError(t, s.Idle(), "a closed store has nothing to fold")
}

// A compaction that fails when idle (the snapshot's name taken by a
// directory, so the rename fails) is reported, leaves the log and the
// state as they were, and is not retried on every Idle: once the log grew
// by another bound, or once compactRetry has passed.
func TestIdleCompactionFailureIsReportedAndKeepsTheLog(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, withCompactMin(100), WithCompactRetry(time.Hour))
	m := model{}
	put := manyRecords("fail", 300)
	m.save(put, nil)
	require.NoError(t, s.Save(put, nil))
	require.NoError(t, os.Mkdir(filepath.Join(dir, SnapName), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, SnapName, "x"), nil, 0o600))

	require.NoError(t, s.Idle())
	require.ErrorContains(t, s.UpkeepErr(), "writing a new registry.snap fails")
	require.Equal(t, 300, s.logEntries, "the log keeps every entry")
	require.NoError(t, s.Idle())
	require.Equal(t, uint64(1), s.Stats().CompactFailures, "retried only once the log grew by another bound")
	require.Zero(t, s.Stats().Compactions)

	require.NoError(t, os.RemoveAll(filepath.Join(dir, SnapName)))
	more := manyRecords("more", 150)
	m.save(more, nil)
	require.NoError(t, s.Save(more, nil))
	require.NoError(t, s.Idle())
	require.Equal(t, uint64(1), s.Stats().Compactions)
	require.NoError(t, s.UpkeepErr())
	loadEquals(t, s, m)
}

// A disk given room again gets its snapshot within compactRetry, though
// nothing changes: a failure held readiness (and the operator's fault
// line) until the fleet next changed.
func TestIdleRetriesAFailedCompactionInTime(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, withCompactMin(100), WithCompactRetry(250*time.Millisecond))
	m := model{}
	put := manyRecords("room", 300)
	m.save(put, nil)
	require.NoError(t, s.Save(put, nil))
	blocker := filepath.Join(dir, SnapName+tmpSuffix)
	require.NoError(t, os.Mkdir(blocker, 0o700))
	require.NoError(t, s.Idle())
	require.Error(t, s.UpkeepErr())
	// Tried again once the retry's time has passed, and not at every
	// Idle after that: each try is a pass over every record.
	require.Eventually(t, func() bool { _ = s.Idle(); return s.Stats().CompactFailures == 2 }, 5*time.Second, 10*time.Millisecond)
	for range 5 {
		require.NoError(t, s.Idle())
	}
	require.Equal(t, uint64(2), s.Stats().CompactFailures, "a try at every Idle")

	require.NoError(t, os.Remove(blocker))
	require.Eventually(t, func() bool { _ = s.Idle(); return s.UpkeepErr() == nil }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, uint64(1), s.Stats().Compactions)
	assert.Zero(t, s.logEntries)
	loadEquals(t, s, m)
}

// A kill -9 inside a compaction that Idle began, at its crash points,
// loses nothing: the same files as a Save's compaction leaves.
func TestCrashDuringAnIdleCompactionLosesNothing(t *testing.T) {
	for _, stage := range []string{"written", "renamed"} {
		t.Run(stage, func(t *testing.T) {
			s := killedAt(t, "idle-"+stage, stage)
			require.Positive(t, s.logEntries, "the log was not emptied")
			loadEquals(t, s, helperModel())
		})
	}
}

// The log is folded once it holds twice as many changes as the snapshot
// holds records (logFactor: a compaction's pass over the snapshot is
// shared by more changes), and not before.
func TestCompactionWaitsForLogFactorChangesARecord(t *testing.T) {
	s := openT(t, t.TempDir(), withCompactMin(100))
	require.NoError(t, s.Save(manyRecords("f", 400), nil))
	require.NoError(t, s.Idle())
	require.Equal(t, 400, s.snapCount, "past compactMin: the first snapshot")

	for range 2*400 - 1 {
		require.NoError(t, s.Save(manyRecords("f", 1), nil))
	}
	require.NoError(t, s.Idle())
	require.Equal(t, uint64(1), s.Stats().Compactions, "one change short of the bound")
	require.NoError(t, s.Save(manyRecords("f", 1), nil))
	require.NoError(t, s.Idle())
	require.Equal(t, uint64(2), s.Stats().Compactions, "at the bound")
	require.Zero(t, s.logEntries)
}
