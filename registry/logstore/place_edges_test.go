package logstore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The data dir replaced by another holding a longer registry.log (a
// restore into the wrong place): the running store's log is written over
// it whole, not over its first bytes with the other's tail left after
// them for a restart to read. A mutation audit found the truncation
// removable with every test passing.
func TestReplacedLongerLogIsWrittenOverWhole(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	s, m := storeWithSnapshot(t, dir)
	other := openT(t, filepath.Join(base, "other"))
	require.NoError(t, other.Save(manyRecords("other", 500), nil))
	require.NoError(t, other.Close())

	require.NoError(t, os.Rename(dir, dir+".moved"))
	require.NoError(t, os.Rename(filepath.Join(base, "other"), dir))
	require.NoError(t, s.Idle())
	assert.Equal(t, uint64(1), s.Stats().Lost)
	assert.Equal(t, m.records(), reopened(t, s, dir))
}
