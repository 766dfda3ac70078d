package fsx

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

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
	require.NoError(t, Lock(b, time.Second))
	require.NoError(t, SyncDir(filepath.Dir(path)))
	require.Error(t, SyncDir(filepath.Join(path, "missing")))
}
