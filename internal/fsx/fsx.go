// Package fsx holds the file-system steps the stores share: a data file's
// exclusive lock, a directory's sync, and a file replaced whole.
package fsx

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Lock takes f's exclusive flock, trying until wait has passed; then the
// error is syscall.EWOULDBLOCK (another process holds it).
func Lock(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(min(10*time.Millisecond, time.Until(deadline)))
	}
}

// OpenLocked opens (creating it with mode when missing) the data file at
// path for reading and writing, and takes its lock as Lock does: the file
// on success; else it is closed, and the error names path: the open's,
// or the lock's (wrapping syscall.EWOULDBLOCK when another process holds
// it).
func OpenLocked(path string, mode os.FileMode, wait time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, err
	}
	if err := Lock(f, wait); err != nil {
		_ = f.Close()
		return nil, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	return f, nil
}

// SyncDir fsyncs a directory, so that a file created or renamed in it is
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// ErrGone and ErrReplaced say that an open data file is no longer the
// file at its path: removed (the data dir deleted, a tmp cleaner) or
// replaced by another. Writes to it then still succeed, into a file no
// restart will read, so the stores check with Placed.
var (
	ErrGone     = errors.New("removed from the data dir while open")
	ErrReplaced = errors.New("replaced in the data dir by another file while open")
)

// Placed says whether f is still the file at path: nil, or an error
// wrapping ErrGone or ErrReplaced that names path. Other errors (f
// closed) are returned as they are.
func Placed(f *os.File, path string) error {
	open, err := f.Stat()
	if err != nil {
		return err
	}
	at, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return &os.PathError{Op: "check", Path: path, Err: ErrGone}
	case err != nil:
		return err
	case !os.SameFile(open, at):
		if st, ok := open.Sys().(*syscall.Stat_t); ok && st.Nlink == 0 {
			return &os.PathError{Op: "check", Path: path, Err: ErrGone}
		}
		return &os.PathError{Op: "check", Path: path, Err: ErrReplaced}
	}
	return nil
}

// Kind names the kind of file mode is in words, for a message: "a
// directory" reads better than its mode's "d---------".
func Kind(mode os.FileMode) string {
	switch {
	case mode.IsRegular():
		return "a regular file"
	case mode.IsDir():
		return "a directory"
	case mode&os.ModeSymlink != 0:
		return "a symbolic link"
	case mode&os.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&os.ModeSocket != 0:
		return "a socket"
	case mode&os.ModeDevice != 0:
		return "a device"
	}
	return "a file of mode " + mode.Type().String()
}

// ReplaceFile makes path hold what write writes, whole or not at all:
// into path+".tmp" (mode), fsynced, renamed over path, and the dir
// fsynced. A failure removes the tmp file and leaves path as it was.
func ReplaceFile(path string, mode os.FileMode, write func(*os.File) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}
