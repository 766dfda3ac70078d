package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
// in a write to a frozen file system cannot even be killed. Should the
// test process die with the disk frozen (a test's timeout panics), a
// process of its own thaws and unmounts it frozenAtMost after the freeze
// (thawLater).
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
	var watchdog *thawer
	thaw := func() {
		if frozen {
			if watchdog != nil {
				watchdog.stop()
			}
			out, err := exec.Command("fsfreeze", "-u", dir).CombinedOutput()
			if !strings.Contains(string(out), "Invalid argument") { // EINVAL: the thawer thawed it
				require.NoError(t, err, "%s", out)
			}
		}
		frozen = false
	}
	t.Cleanup(func() {
		thaw()
		_ = exec.Command("umount", "-l", dir).Run()
	})
	return dir, func() func() {
		out, err := exec.Command("fsfreeze", "-f", dir).CombinedOutput()
		require.NoError(t, err, "%s", out)
		frozen = true
		watchdog, err = thawLater(dir, frozenAtMost)
		require.NoError(t, err)
		return thaw
	}
}

// frozenAtMost is how long a FrozenDisk stays frozen if its test never
// thaws it: longer than any test keeps one frozen.
var frozenAtMost = 5 * time.Minute

// thawer is a process that thaws and unmounts a frozen disk after a while,
// in a session of its own so that it outlives the test process. A frozen
// mount left behind hangs every process that touches it: a CI run's
// cleanup, rm -rf of its TMPDIR, sat in uninterruptible sleep for half an
// hour behind one whose test had timed out.
type thawer struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func thawLater(dir string, after time.Duration) (*thawer, error) {
	cmd := exec.Command("sh", "-c", `sleep "$1"; fsfreeze -u "$2"; umount -l "$2"`,
		"thaw", strconv.FormatFloat(after.Seconds(), 'f', 3, 64), dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &thawer{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(w.done) }()
	return w, nil
}

// stop ends the thawer, which may have thawed the disk already.
func (w *thawer) stop() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL) // sh and its sleep
	<-w.done
}
