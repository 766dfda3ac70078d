package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// SmallDisk mounts a tmpfs of size (mount's syntax: 64k, 8m) on a fresh
// directory, for a full disk, or skips the test when this machine does
// not allow it.
func SmallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small-disk")
	require.NoError(t, os.Mkdir(dir, 0o700))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small tmpfs, and mount -t tmpfs is not permitted here (run as root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// FillDisk writes a file into dir until the file system has no room
// left, and returns a func that deletes it (room again).
func FillDisk(t *testing.T, dir string) func() {
	t.Helper()
	f, err := os.CreateTemp(dir, "filler-*") // a second call fills what frees meanwhile
	require.NoError(t, err)
	path := f.Name()
	chunk := make([]byte, 4096)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, syscall.ENOSPC, "the filler stops at a full disk")
	require.NoError(t, f.Close())
	return func() { require.NoError(t, os.Remove(path)) }
}
