package fsx

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A second lock on the same file waits, then fails with EWOULDBLOCK; once
// the first is closed it is taken.
func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	a, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, Lock(a, time.Second))
	b, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer b.Close()
	require.ErrorIs(t, Lock(b, 30*time.Millisecond), syscall.EWOULDBLOCK)
	require.NoError(t, a.Close())
	// Free, the lock is taken at once, not once the wait has passed.
	took := make(chan error, 1)
	go func() { took <- Lock(b, time.Hour) }()
	select {
	case err := <-took:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("a free lock waited out its wait")
	}
	require.NoError(t, SyncDir(filepath.Dir(path)))
	require.Error(t, SyncDir(filepath.Join(path, "missing")))
}

func TestPlacedSaysWhenTheFileLeftItsPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.db")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, Placed(f, path))

	require.NoError(t, os.Rename(path, path+".old"))
	require.NoError(t, os.WriteFile(path, []byte("another"), 0o600))
	err = Placed(f, path)
	require.ErrorIs(t, err, ErrReplaced)
	assert.Contains(t, err.Error(), path)

	require.NoError(t, os.RemoveAll(dir))
	err = Placed(f, path)
	require.ErrorIs(t, err, ErrGone)
	assert.Contains(t, err.Error(), path)

	g, err := os.CreateTemp(t.TempDir(), "gone")
	require.NoError(t, err)
	defer g.Close()
	require.NoError(t, os.Remove(g.Name()))
	require.NoError(t, os.WriteFile(g.Name(), nil, 0o600)) // a new file at the old name
	require.ErrorIs(t, Placed(g, g.Name()), ErrGone, "the open file has no link left")
}

// OpenLocked makes the file and holds its lock; a second open waits, then
// fails naming the path, with EWOULDBLOCK to be told apart.
func TestOpenLockedHoldsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.log")
	f, err := OpenLocked(path, 0o600, 0)
	require.NoError(t, err)
	defer f.Close()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	fds := openFDs(t)
	_, err = OpenLocked(path, 0o600, 20*time.Millisecond)
	require.ErrorIs(t, err, syscall.EWOULDBLOCK)
	assert.Contains(t, err.Error(), path)
	assert.Equal(t, fds, openFDs(t), "the file refused its lock is closed")
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(fds)
}

// Kind says a file's kind in words, for the messages that refuse one.
func TestKindInWords(t *testing.T) {
	dir := t.TempDir()
	file, link, fifo := filepath.Join(dir, "f"), filepath.Join(dir, "l"), filepath.Join(dir, "p")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	require.NoError(t, os.Symlink(file, link))
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for path, want := range map[string]string{file: "a regular file", dir: "a directory", link: "a symbolic link", fifo: "a named pipe"} {
		fi, err := os.Lstat(path)
		require.NoError(t, err)
		assert.Equal(t, want, Kind(fi.Mode()), path)
	}
}

// ReplaceFile leaves the file whole, the old one on a failed write, and
// no tmp file either way.
func TestReplaceFileIsWholeOrNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, ReplaceFile(path, 0o600, func(f *os.File) error { _, err := f.WriteString("one"); return err }))
	err := ReplaceFile(path, 0o600, func(f *os.File) error {
		_, _ = f.WriteString("two, cut short")
		return os.ErrClosed
	})
	require.ErrorIs(t, err, os.ErrClosed)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "one", string(b))
	assert.NoFileExists(t, path+".tmp")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
