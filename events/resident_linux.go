package events

import (
	"golang.org/x/sys/unix"

	bolt "go.etcd.io/bbolt"
)

// releaseMapped lets the kernel unmap the pages of the log's file that
// this process has read through bbolt's mapping. bbolt reads through a
// read-only shared mapping, so every page a commit's descent or a reader
// touched stays counted in the server's RSS (RssFile) though the writer
// only ever needs the newest leaf again, which then faults back from the
// page cache: MADV_DONTNEED on such a mapping drops no data. It runs in a
// read transaction, which keeps bbolt from remapping meanwhile. A failure
// leaves the pages where they were, which is no fault.
func releaseMapped(db *bolt.DB) {
	_ = db.View(func(tx *bolt.Tx) error {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, db.Info().Data, uintptr(tx.Size()), unix.MADV_DONTNEED)
		return nil
	})
}
