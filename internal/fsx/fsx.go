// Package fsx holds the file-system steps the stores share: a data file's
// exclusive lock and a directory's sync.
package fsx

import (
	"errors"
	"os"
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
