package events

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// TestMappedStates: the first read of a clean map wakes the writer; clean
// holds only after a release (none is due, none under way); a release is
// paced by releaseEvery; a read during a release marks the map dirty.
func TestMappedStates(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), FileName), 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	var m mapped
	require.True(t, m.clean())
	require.Nil(t, m.due(), "nothing to release")
	require.True(t, m.touched(), "the first read wakes the idle writer")
	require.False(t, m.touched(), "a dirty map has a release due already")
	require.False(t, m.clean())
	m.releaseDue(db)
	require.True(t, m.clean())
	require.Nil(t, m.due())

	m.touched()
	m.releaseDue(db)
	require.False(t, m.clean(), "a second release within releaseEvery waits")
	require.NotNil(t, m.due())

	m.state.Store(mapReleasing) // as releaseDue leaves it while it runs
	require.False(t, m.touched(), "the writer is awake: it is releasing")
	require.Equal(t, mapDirty, m.state.Load(), "the release under way must not clear this read")
}
