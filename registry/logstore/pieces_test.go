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

// manyRecords is n records in cid order, more than one piece's worth when
// n > pieceRecords.
func manyRecords(prefix string, n int) []registry.Record {
	put := make([]registry.Record, n)
	for i := range put {
		put[i] = rec(fmt.Sprintf("%s-%05d", prefix, i), uint16(i%60000+1))
	}
	return put
}

// A Save of more records than one piece writes them piece by piece and
// syncs once: one fdatasync for the batch, where the registry made one a
// 1,024 (session 18), and Load gives them all back.
func TestSaveOfManyPiecesSyncsOnce(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	put := manyRecords("many", 2*pieceRecords+500)
	require.NoError(t, s.Save(put, []string{"gone-1"}))
	st := s.Stats()
	assert.Equal(t, uint64(1), st.Saves)
	assert.Equal(t, uint64(1), st.Syncs, "one fdatasync for the whole batch")
	assert.Equal(t, uint64(len(put)+1), st.Entries)
	fi, err := os.Stat(filepath.Join(dir, LogName))
	require.NoError(t, err)
	assert.Equal(t, fi.Size()-headerLen, int64(st.Bytes))
	loadEquals(t, s, modelOf((put)))
	require.Positive(t, cap(s.buf), "the buffer is kept for the next Save")
	require.LessOrEqual(t, cap(s.buf), maxKeptBuf, "it holds a piece, not the batch")
}

// A piece that fails to encode (a time JSON can not hold) fails the whole
// Save after earlier pieces were written: the log is as it was, on disk
// and after a reopen, and nothing was counted.
func TestSaveFailingInALaterPieceLeavesTheLogAsItWas(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	before := []registry.Record{rec("before", 1)}
	require.NoError(t, s.Save(before, nil))
	path := filepath.Join(dir, LogName)
	fi0, err := os.Stat(path)
	require.NoError(t, err)
	st0 := s.Stats()

	put := manyRecords("fails", 2*pieceRecords)
	put[pieceRecords+10].LastSeen = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.ErrorContains(t, s.Save(put, nil), "year outside of range")
	fi1, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fi0.Size(), fi1.Size(), "the first piece's write is cut off")
	assert.Equal(t, st0, s.Stats())
	loadEquals(t, s, modelOf((before)))

	require.NoError(t, s.Save(put[:3], nil), "the next Save appends at the same end")
	require.NoError(t, s.Close())
	s = openT(t, dir)
	loadEquals(t, s, modelOf((append(before, put[:3]...))))
}

// A crash inside a Save of several pieces, before its one fdatasync,
// leaves a prefix of its frames (the log cut anywhere after the first
// piece): Open trims the torn frame, and Load gives the records before
// it, each whole, and nothing of a frame after it.
func TestCrashInsideAManyPieceSaveLeavesAPrefix(t *testing.T) {
	for _, cut := range []float64{0.45, 0.7, 0.99} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir)
			put := manyRecords("torn", 3*pieceRecords)
			require.NoError(t, s.Save(put, nil))
			crash(t, s)
			path := filepath.Join(dir, LogName)
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, raw[:int(cut*float64(len(raw)))], 0o600))

			s = openT(t, dir)
			got, err := s.Load()
			require.NoError(t, err)
			require.NotEmpty(t, got)
			require.Less(t, len(got), len(put))
			assert.Equal(t, put[:len(got)], got, "a prefix of the batch, in its order")
		})
	}
}

// modelOf is a model of recs saved into an empty store.
func modelOf(recs []registry.Record) model {
	m := model{}
	m.save(recs, nil)
	return m
}
