package logstore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Open's checks at their edges, each found changeable with every test
// passing by a mutation audit.

// A first start on an empty data dir lost no log: MissingLog is for a
// snapshot of records without its log, and the caller warns on it.
func TestFirstOpenOfAnEmptyDirMissesNoLog(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "new"))
	assert.False(t, s.MissingLog())
	path, _ := s.EmptyFile()
	assert.Empty(t, path)
}

// sealedFrame is a frame of payload, as the store writes one.
func sealedFrame(payload []byte) []byte {
	b, at := beginFrame(nil)
	return sealFrame(append(b, payload...), at)
}

// A snapshot whose end entry counts other than its records (a frame of
// records lost from its middle, each frame's CRC whole) is damage: Open
// refuses it rather than start without those clients.
func TestOpenRefusesASnapshotWhoseEndMiscounts(t *testing.T) {
	dir := t.TempDir()
	s, _ := storeWithSnapshot(t, dir)
	require.NoError(t, s.Close())
	path := filepath.Join(dir, SnapName)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	end := sealedFrame(appendEnd(nil, 300))
	require.Equal(t, end, b[len(b)-len(end):], "the snapshot ends with its count")
	b = append(b[:len(b)-len(end)], sealedFrame(appendEnd(nil, 301))...)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, err = Open(dir)
	require.ErrorIs(t, err, ErrDamaged)
	assert.Contains(t, err.Error(), "the end counts 301 records, the snapshot holds 300")
}

// An end entry is the snapshot's alone: one in the log is damage.
func TestOpenRefusesAnEndEntryInTheLog(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	require.NoError(t, s.Save(records("r", 3), nil))
	require.NoError(t, s.Close())
	f, err := os.OpenFile(filepath.Join(dir, LogName), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(sealedFrame(appendEnd(nil, 3)))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = Open(dir)
	require.ErrorIs(t, err, ErrDamaged)
	assert.Contains(t, err.Error(), "an end entry in the log")
}
