package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// populatedRegistryFile writes n records into dir's registry.db as a
// previous build did (several commits: a freelist with pages on it), and
// closes it; the file then spans many pages (meta, freelist, branches,
// leaves).
func populatedRegistryFile(t testing.TB, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, LegacyName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	for i := 0; i < n; {
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(clientsBucket)
			if err != nil {
				return err
			}
			for end := min(i+500, n); i < end; i++ {
				r := rec(fmt.Sprintf("device-%05d", i), uint16(i+1))
				v, err := appendRecord(nil, r)
				if err != nil {
					return err
				}
				if err := b.Put([]byte(r.CID), v); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	require.NoError(t, db.Close())
	return path
}

// corruptions damage a previous build's registry file the ways a disk, a crash or a bad
// copy do. Each must make Open (or Load) refuse with ErrDamaged, never
// panic.
var corruptions = []struct {
	name string
	hurt func(t testing.TB, path string)
}{
	{"truncated to half", func(t testing.TB, path string) {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(path, fi.Size()/2))
	}},
	{"truncated inside the first page", func(t testing.TB, path string) {
		require.NoError(t, os.Truncate(path, 100))
	}},
	{"random bytes over every page but the metas", func(t testing.TB, path string) {
		testkit.OverwritePages(t, path, 2, -1, 1)
	}},
	{"random bytes over the freelist page", func(t testing.TB, path string) {
		p := testkit.FreelistPage(t, path)
		testkit.OverwritePages(t, path, p, p+1, 2)
	}},
	{"random bytes over the data pages", func(t testing.TB, path string) {
		testkit.OverwritePages(t, path, 4, -1, 3)
	}},
	{"random bytes over both metas", func(t testing.TB, path string) {
		testkit.OverwritePages(t, path, 0, 2, 4)
	}},
	{"all random bytes", func(t testing.TB, path string) {
		testkit.OverwritePages(t, path, 0, -1, 5)
	}},
}

func TestOpenRefusesDamagedFileWithoutPanic(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := populatedRegistryFile(t, dir, 3000)
			c.hurt(t, path)
			s, err := Open(dir)
			if err == nil { // Open's check passed: then Load must refuse
				defer s.Close()
				_, err = s.Load()
			}
			require.ErrorIs(t, err, ErrDamaged)
			assert.Contains(t, err.Error(), path, "the message names the file")
			assert.Contains(t, err.Error(), "move it away")
			assert.Contains(t, err.Error(), "backup")
		})
	}
}

func TestOpenZeroLengthFileIsAnEmptyStoreAndSaysSo(t *testing.T) {
	for _, name := range []string{LegacyName, SnapName} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(path, nil, 0o600))
			s := openT(t, dir)
			got, starting := s.EmptyFile()
			assert.Equal(t, path, got)
			assert.Equal(t, "starting with an empty registry", starting)
			recs, err := s.Load()
			require.NoError(t, err)
			assert.Empty(t, recs)
			require.NoError(t, s.Save([]registry.Record{rec("after-empty", 1)}, nil))
		})
	}
	fresh := openT(t, t.TempDir())
	got, _ := fresh.EmptyFile()
	assert.Empty(t, got, "a new store is not a zero-length file")
}

func TestOpenSoundFilePassesTheCheckAndMigrates(t *testing.T) {
	dir := t.TempDir()
	path := populatedRegistryFile(t, dir, 3000)
	s := openT(t, dir)
	recs, err := s.Load()
	require.NoError(t, err)
	assert.Len(t, recs, 3000)
	assert.Equal(t, rec("device-00042", 43), recs[42])
	got, _ := s.EmptyFile()
	assert.Empty(t, got)
	assert.NoFileExists(t, path)
	assert.FileExists(t, path+MigratedSuffix)
}
