package logstore

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// storeWithSnapshot is a store whose records are in both files: "snap-*"
// folded into the snapshot, "log-*" in the log after it.
func storeWithSnapshot(t *testing.T, dir string) (*Store, model) {
	t.Helper()
	s := openT(t, dir, withCompactMin(100))
	m := model{}
	for _, put := range [][]registry.Record{manyRecords("snap", 300), manyRecords("log", 50)} {
		m.save(put, nil)
		require.NoError(t, s.Save(put, nil))
		require.NoError(t, s.Idle())
	}
	require.Equal(t, uint64(1), s.Stats().Compactions, "the snap- records are in the snapshot")
	require.Equal(t, 50, s.logEntries, "the log- ones in the log")
	return s, m
}

// reopened is what a restart finds in dir.
func reopened(t *testing.T, s *Store, dir string) []registry.Record {
	t.Helper()
	require.NoError(t, s.Close())
	again := openT(t, dir)
	got, err := again.Load()
	require.NoError(t, err)
	return got
}

// The data dir removed under the running store: the next Save writes both
// files again from the open ones, and a restart finds every record, those
// from before the removal and the Save's own.
func TestRemovedDataDirIsWrittenAgainAtTheNextSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, m := storeWithSnapshot(t, dir)
	require.NoError(t, os.RemoveAll(dir))

	after := manyRecords("after", 20)
	m.save(after, nil)
	require.NoError(t, s.Save(after, nil))
	assert.Equal(t, uint64(1), s.Stats().Lost)
	for _, name := range []string{SnapName, LogName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	assert.Equal(t, m.records(), reopened(t, s, dir))
}

// With nothing to save, the idle check finds the removal: the files are
// back before any change would have brought them, so a crash then loses
// nothing.
func TestRemovedDataDirIsWrittenAgainWhenIdle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, m := storeWithSnapshot(t, dir)
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, s.Idle())
	assert.Equal(t, uint64(1), s.Stats().Lost)
	require.NoError(t, s.Idle())
	assert.Equal(t, uint64(1), s.Stats().Lost, "in place again: nothing more to do")

	crash(t, s)
	again := openT(t, dir)
	loadEquals(t, again, m)
}

// The data dir moved away and another put in its place: the running
// store's files are written into the new one (it owns the path), and the
// moved copy is left as it was.
func TestReplacedDataDirIsWrittenOver(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, m := storeWithSnapshot(t, dir)
	require.NoError(t, os.Rename(dir, dir+".moved"))
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, SnapName), []byte("not ours"), 0o600))

	require.NoError(t, s.Idle())
	assert.Equal(t, uint64(1), s.Stats().Lost)
	_, err := os.Stat(filepath.Join(dir+".moved", LogName))
	require.NoError(t, err, "the moved copy stays")
	assert.Equal(t, m.records(), reopened(t, s, dir))
}

// A removed snapshot alone (the log in place) is written again too: its
// records are in no other file.
func TestRemovedSnapshotIsWrittenAgain(t *testing.T) {
	dir := t.TempDir()
	s, m := storeWithSnapshot(t, dir)
	require.NoError(t, os.Remove(filepath.Join(dir, SnapName)))
	require.NoError(t, s.Idle())
	assert.Equal(t, uint64(1), s.Stats().Lost)
	assert.Equal(t, m.records(), reopened(t, s, dir))
}

// Another server that started on the recreated dir holds its lock: the
// store does not write over it, and says so at every Save (the registry
// then reports its store failing).
func TestRemovedDataDirTakenByAnotherStoreIsLeftAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, _ := storeWithSnapshot(t, dir)
	require.NoError(t, os.RemoveAll(dir))
	other := openT(t, dir)

	err := s.Save(manyRecords("after", 1), nil)
	require.ErrorIs(t, err, ErrInUse)
	assert.Contains(t, err.Error(), "removed from the data dir while open")
	require.ErrorIs(t, s.Save(manyRecords("again", 1), nil), ErrInUse)
	assert.Equal(t, uint64(1), s.Stats().Lost, "one loss, however many Saves find it")
	got, err := other.Load()
	require.NoError(t, err)
	assert.Empty(t, got, "the other store's dir is untouched")
}

// idleCounting is the store with its Idle calls counted.
type idleCounting struct {
	*Store
	idles atomic.Int32
}

func (c *idleCounting) Idle() error { c.idles.Add(1); return c.Store.Idle() }

// A registry whose clients are all gone writes nothing for hours; its
// flusher still has the store check at every idle stretch, not only the
// first, so a removed dir is back within moments.
func TestIdleRegistryPutsItsRemovedFilesBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := &idleCounting{Store: openT(t, dir)}
	reg := registry.New(registry.WithStore(s), registry.WithFlushInterval(5*time.Millisecond))
	_, _, err := reg.Register("idle-1", "127.0.0.1", "5000", nil)
	require.NoError(t, err)
	require.True(t, reg.Disconnect("idle-1", nil, protocol.ReasonClosedByClient))
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- reg.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	require.Eventually(t, func() bool { return s.idles.Load() >= 1 }, 5*time.Second, time.Millisecond,
		"the first idle stretch")
	saves := s.Stats().Saves

	require.NoError(t, os.RemoveAll(dir))
	// Polled for the file, not read once the loss is counted: a restore
	// that ran while RemoveAll was still deleting had its registry.log
	// deleted too, and was put back by the next idle stretch (CI, once).
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(dir, LogName))
		return s.Stats().Lost >= 1 && err == nil
	}, 5*time.Second, time.Millisecond, "a later idle stretch puts the files back")
	assert.Equal(t, saves, s.Stats().Saves, "with nothing saved meanwhile")
}
