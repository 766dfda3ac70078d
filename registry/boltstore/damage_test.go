package boltstore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// populatedRegistryFile writes n records into dir's registry file and
// closes it; the file then spans many pages (meta, freelist, branches,
// leaves).
func populatedRegistryFile(t testing.TB, dir string, n int) string {
	t.Helper()
	s, err := Open(dir)
	require.NoError(t, err)
	recs := make([]registry.Record, 0, n)
	for i := range n {
		recs = append(recs, rec(fmt.Sprintf("device-%05d", i), uint16(i+1)))
	}
	for len(recs) > 0 { // several commits: a freelist with pages on it
		k := min(500, len(recs))
		require.NoError(t, s.Save(recs[:k], nil))
		recs = recs[k:]
	}
	require.NoError(t, s.Close())
	return filepath.Join(dir, FileName)
}

// corruptions damage a registry file the ways a disk, a crash or a bad
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
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), nil, 0o600))
	s := openT(t, dir)
	assert.True(t, s.WasEmpty())
	recs, err := s.Load()
	require.NoError(t, err)
	assert.Empty(t, recs)
	require.NoError(t, s.Save([]registry.Record{rec("after-empty", 1)}, nil))

	fresh := openT(t, t.TempDir())
	assert.False(t, fresh.WasEmpty(), "a new file is not a zero-length one")
}

func TestOpenSoundFilePassesTheCheck(t *testing.T) {
	dir := t.TempDir()
	populatedRegistryFile(t, dir, 3000)
	s := openT(t, dir)
	recs, err := s.Load()
	require.NoError(t, err)
	assert.Len(t, recs, 3000)
	assert.False(t, s.WasEmpty())
}
