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

// FrozenDisk is an ext4 file system on a loop device (tmpfs cannot be
// frozen), with a func that freezes it (fsfreeze -f: every write to it
// blocks, none fails) and returns the one that thaws it. The test is
// skipped where mkfs.ext4, a loop mount or fsfreeze is not at hand (run
// as root). The cleanup thaws it before unmounting: a process blocked
// in a write to a frozen file system cannot even be killed.
func FrozenDisk(t *testing.T) (dir string, freeze func() (thaw func())) {
	t.Helper()
	for _, tool := range []string{"mkfs.ext4", "fsfreeze"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("a frozen disk needs %s: %v", tool, err)
		}
	}
	tmp := t.TempDir()
	img, dir := filepath.Join(tmp, "disk.img"), filepath.Join(tmp, "frozen-disk")
	require.NoError(t, os.Mkdir(dir, 0o700))
	f, err := os.Create(img)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(32<<20))
	require.NoError(t, f.Close())
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4: %v: %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		t.Skipf("a frozen disk needs a loop mount, not permitted here (run as root): %v: %s", err, out)
	}
	var frozen bool
	thaw := func() {
		if frozen {
			out, err := exec.Command("fsfreeze", "-u", dir).CombinedOutput()
			require.NoError(t, err, "%s", out)
			frozen = false
		}
	}
	t.Cleanup(func() {
		thaw()
		_ = exec.Command("umount", "-l", dir).Run()
	})
	return dir, func() func() {
		out, err := exec.Command("fsfreeze", "-f", dir).CombinedOutput()
		require.NoError(t, err, "%s", out)
		frozen = true
		return thaw
	}
}
