package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// Edges of when a compaction runs (docs/operations.md, "The data dir"),
// each found changeable with every test passing by a mutation audit.

// records is n records named prefix-i, one batch.
func records(prefix string, n int) []registry.Record {
	put := make([]registry.Record, n)
	for i := range put {
		put[i] = rec(fmt.Sprintf("%s-%d", prefix, i), 1)
	}
	return put
}

// A flush of at most 256 changes is a small one: one of exactly 256 after
// a quiet start compacts once the log is past its bound.
func TestSaveOfExactlyQuietBatchChangesIsQuiet(t *testing.T) {
	s := openT(t, t.TempDir(), withCompactMin(200))
	m := model{}
	put := records("q", quietBatch)
	m.save(put, nil)
	require.NoError(t, s.Save(put, nil))
	assert.Zero(t, s.logEntries, "compacted: a quiet Save after a quiet start")
	assert.Equal(t, uint64(1), s.Stats().Compactions)
	loadEquals(t, s, m)
}

// A burst compacts once the log reaches four times its bound, without
// waiting for a quiet flush: that bounds the log.
func TestBurstCompactsAtBurstFactorBounds(t *testing.T) {
	s := openT(t, t.TempDir(), withCompactMin(100)) // an empty snapshot: the bound is 100
	m := model{}
	for i := 0; i < 2; i++ {
		put := records(fmt.Sprintf("b%d", i), quietBatch+1) // not quiet
		m.save(put, nil)
		require.NoError(t, s.Save(put, nil))
	}
	require.GreaterOrEqual(t, 2*(quietBatch+1), burstFactor*100)
	assert.Equal(t, uint64(1), s.Stats().Compactions, "514 entries are past 4 bounds of 100")
	assert.Zero(t, s.logEntries)
	loadEquals(t, s, m)
}

// An idle second ends a burst: the next small flush that takes the log
// past its bound compacts, as the second quiet one in a row would.
func TestQuietSaveAfterAnIdleSecondCompacts(t *testing.T) {
	s := openT(t, t.TempDir(), withCompactMin(300))
	m := model{}
	burst := records("burst", quietBatch+34) // 290: not quiet, short of the bound
	m.save(burst, nil)
	require.NoError(t, s.Save(burst, nil))
	require.NoError(t, s.Idle())
	require.Equal(t, quietBatch+34, s.logEntries, "short of the bound: the idle second did not compact")
	quiet := records("quiet", 20)
	m.save(quiet, nil)
	require.NoError(t, s.Save(quiet, nil))
	assert.Zero(t, s.logEntries, "the quiet Save after the idle second compacted")
	loadEquals(t, s, m)
}

// UpkeepErr's "fails since" is the first failure of the run, not the
// latest retry's.
func TestUpkeepErrSaysSinceTheFirstFailure(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, withCompactMin(10), WithCompactRetry(time.Nanosecond))
	require.NoError(t, os.Mkdir(filepath.Join(dir, SnapName+tmpSuffix), 0o700)) // the temporary file cannot be made
	require.NoError(t, s.Save(records("a", 10), nil))
	require.Equal(t, uint64(1), s.Stats().CompactFailures)
	first := s.compactFailed
	require.NoError(t, s.Idle()) // retried, fails again
	require.Equal(t, uint64(2), s.Stats().CompactFailures)
	assert.True(t, s.compactTried.After(first), "a second try")
	assert.Equal(t, first, s.compactFailed, "since the first failure")
	assert.ErrorContains(t, s.UpkeepErr(), "fails since "+first.UTC().Format(time.RFC3339))
}
