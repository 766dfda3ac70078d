package logstore

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/registry"
)

// The migration's edges a mutation audit found untested: each test names
// the mutant of legacy.go or damage.go it kills.

// cidsOf is the cids s holds, sorted.
func cidsOf(t *testing.T, s *Store) []string {
	t.Helper()
	recs, err := s.Load()
	require.NoError(t, err)
	cids := []string{}
	for _, r := range recs {
		cids = append(cids, r.CID)
	}
	slices.Sort(cids)
	return cids
}

// migratedThenGone is a data dir migrated from a registry.db holding
// "old", whose log has deleted "old" since, closed: the snapshot and the
// log hold no client, so a registry.db put back lacks none of theirs.
func migratedThenGone(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	old, err := appendRecord(nil, rec("old", 1))
	require.NoError(t, err)
	writeRaw(t, dir, "old", string(old))
	s, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, s.Save(nil, []string{"old"}))
	require.NoError(t, s.Close())
	return dir
}

// A registry.db put back without its .migrated (the operator's going
// back, or a crash before the rename) is newer than the snapshot and the
// log beside it: its records replace theirs (legacy.go's migrate) when it
// holds every client ID they hold. Kills "migrate returns false after
// migrating" (the log's deletion replayed on top) and "a zero-length
// registry.db writes no snapshot" (the old snapshot's "old" kept while
// EmptyFile says the registry starts empty).
func TestARegistryDBPutBackReplacesTheSnapshotAndTheLog(t *testing.T) {
	t.Run("with records", func(t *testing.T) {
		dir := migratedThenGone(t)
		legacy := filepath.Join(dir, LegacyName)
		require.NoError(t, os.Rename(legacy+MigratedSuffix, legacy))
		s := openT(t, dir)
		assert.Equal(t, []string{"old"}, cidsOf(t, s), "registry.db's records only, not the log's")
		require.NoError(t, s.Close())
		assert.Equal(t, []string{"old"}, cidsOf(t, openT(t, dir)), "and so after a reopen")
	})
	t.Run("zero-length", func(t *testing.T) {
		dir := migratedThenGone(t)
		legacy := filepath.Join(dir, LegacyName)
		require.NoError(t, os.Remove(legacy+MigratedSuffix))
		require.NoError(t, os.WriteFile(legacy, nil, 0o600))
		s := openT(t, dir)
		got, starting := s.EmptyFile()
		assert.Equal(t, legacy, got)
		assert.Equal(t, "starting with an empty registry", starting)
		assert.Empty(t, cidsOf(t, s), "as said: the snapshot's records are not kept")
		require.NoError(t, s.Close())
		assert.Empty(t, cidsOf(t, openT(t, dir)))
	})
}

// A registry.db that lacks a client ID the snapshot and the log hold is
// refused, and every file left as it was: an older build's start in a
// data dir of this build (even one its lock refused) leaves an empty
// registry.db, and taking it emptied the registry with an info line
// (upgrade audit). Moving it away, as the message says, keeps them all.
func TestARegistryDBWithoutTheClientsBesideItIsRefused(t *testing.T) {
	for name, legacy := range map[string]func(t *testing.T, dir string){
		"an older build's new file": func(t *testing.T, dir string) { populatedRegistryFile(t, dir, 0) },
		"put back from before some registered": func(t *testing.T, dir string) {
			v, err := appendRecord(nil, rec("device-00001", 1))
			require.NoError(t, err)
			writeRaw(t, dir, "device-00001", string(v))
		},
		"zero-length": func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, LegacyName), nil, 0o600))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, withCompactMin(2))
			require.NoError(t, s.Save([]registry.Record{rec("device-00001", 1), rec("device-00002", 2)}, nil)) // a snapshot
			require.NoError(t, s.Save([]registry.Record{rec("device-00003", 3)}, nil))                         // and the log
			require.NoError(t, s.Close())
			legacy(t, dir)
			path := filepath.Join(dir, LegacyName)

			_, err := Open(dir)
			require.ErrorIs(t, err, ErrTwoBuilds)
			assert.Contains(t, err.Error(), `"device-00002"`)
			assert.Contains(t, err.Error(), "mv "+path+" "+path+".downgrade")
			assert.FileExists(t, path, "left where it is")
			assert.NoFileExists(t, path+MigratedSuffix)

			require.NoError(t, os.Rename(path, path+".downgrade"))
			assert.Equal(t, []string{"device-00001", "device-00002", "device-00003"}, cidsOf(t, openT(t, dir)))
		})
	}
}

// A registry.db that can not be read (here a symlink to itself) is
// refused with the OS's error, not a nil-pointer panic. Kills "migrate
// ignores a Stat error other than not-exist".
func TestOpenRefusesARegistryDBItCanNotStat(t *testing.T) {
	dir := t.TempDir()
	legacy := filepath.Join(dir, LegacyName)
	require.NoError(t, os.Symlink(LegacyName, legacy))
	var err error
	require.NotPanics(t, func() {
		var s *Store
		if s, err = Open(dir); err == nil {
			_ = s.Close()
		}
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), legacy)
}

// The snapshot the migration writes failing (here its temporary file's
// place taken by a directory) fails Open and keeps registry.db where it
// is: retiring it would start on an empty registry and lose every record.
// Kills "copyLegacy ignores the snapshot's error".
func TestMigrationThatCanNotWriteTheSnapshotKeepsRegistryDB(t *testing.T) {
	dir := t.TempDir()
	populatedRegistryFile(t, dir, 10)
	legacy := filepath.Join(dir, LegacyName)
	tmp := filepath.Join(dir, SnapName+tmpSuffix)
	require.NoError(t, os.Mkdir(tmp, 0o700))
	_, err := Open(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), legacy)
	assert.FileExists(t, legacy, "not retired")
	assert.NoFileExists(t, legacy+MigratedSuffix)

	require.NoError(t, os.Remove(tmp))
	assert.Len(t, cidsOf(t, openT(t, dir)), 10, "the next start migrates every record")
}

// An older build still running on registry.db holds its lock: Open
// gives up after the lock timeout with ErrInUse, naming the file, rather
// than waiting for ever. Kills "copyLegacy opens with no timeout" and
// "the lock's timeout is not ErrInUse".
func TestOpenGivesUpOnARegistryDBAnOlderBuildHolds(t *testing.T) {
	dir := t.TempDir()
	populatedRegistryFile(t, dir, 3)
	older, err := bolt.Open(filepath.Join(dir, LegacyName), 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	released := false
	release := func() {
		if !released {
			released = true
			require.NoError(t, older.Close())
		}
	}
	t.Cleanup(release)

	done := make(chan error, 1)
	go func() {
		s, err := Open(dir, WithLockTimeout(100*time.Millisecond))
		if err == nil {
			_ = s.Close()
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second): // 100 ms asked
		release()
		<-done
		t.Fatal("Open still waiting for registry.db's lock after 10 s")
	}
	require.ErrorIs(t, err, ErrInUse)
	assert.Contains(t, err.Error(), LegacyName)

	release()
	assert.Len(t, cidsOf(t, openT(t, dir)), 3, "migrated once the older build is gone")
}

// The migration closes registry.db: the retired file is not held open
// (nor its lock) while the store runs, so an older build, or a copy of
// it, can open it. Kills "copyLegacy does not close the file".
func TestMigrationLetsGoOfTheRetiredFile(t *testing.T) {
	dir := t.TempDir()
	populatedRegistryFile(t, dir, 3)
	openT(t, dir)
	db, err := bolt.Open(filepath.Join(dir, LegacyName+MigratedSuffix), 0o600, &bolt.Options{Timeout: 500 * time.Millisecond})
	require.NoError(t, err, "the running store holds the retired file's lock")
	require.NoError(t, db.Close())
}

// A damaged registry.db's refusal says what moving it away costs.
// Kills damagedLegacy's cost changed.
func TestDamagedRegistryDBSaysMovingItAwayStartsEmpty(t *testing.T) {
	dir := t.TempDir()
	path := populatedRegistryFile(t, dir, 10)
	require.NoError(t, os.Truncate(path, 100))
	_, err := Open(dir)
	require.ErrorIs(t, err, ErrDamaged)
	assert.Contains(t, err.Error(), "(mv "+path+" "+path+".damaged) to start with an empty registry")
}

// registry.db that can not be renamed once copied (here immutable, which
// stops root too) fails Open, naming both names once: a start that went on
// would migrate it again next time and replace every record saved since.
// Kills "migrate ignores the rename's error".
func TestMigrationThatCanNotRetireRegistryDBFailsOpen(t *testing.T) {
	dir := t.TempDir()
	populatedRegistryFile(t, dir, 10)
	legacy := filepath.Join(dir, LegacyName)
	if out, err := exec.Command("chattr", "+i", legacy).CombinedOutput(); err != nil {
		t.Skipf("chattr +i (root on a file system with attributes): %v: %s", err, out)
	}
	immutable := true
	unlock := func() {
		if immutable {
			immutable = false
			require.NoError(t, exec.Command("chattr", "-i", legacy).Run())
		}
	}
	t.Cleanup(unlock)

	_, err := Open(dir)
	require.Error(t, err)
	assert.Equal(t, "logstore: retire "+LegacyName+": rename "+legacy+" "+legacy+MigratedSuffix+": operation not permitted", err.Error())
	assert.NoFileExists(t, legacy+MigratedSuffix)

	unlock()
	assert.Len(t, cidsOf(t, openT(t, dir)), 10, "the next start migrates every record")
	assert.FileExists(t, legacy+MigratedSuffix)
}
