// Package boltmap lets go of the pages of a bbolt file that this process
// read through bbolt's mapping.
package boltmap

import (
	"golang.org/x/sys/unix"

	bolt "go.etcd.io/bbolt"
)

// Release lets the kernel unmap the pages of tx's file that this process
// has read. bbolt reads through a read-only shared mapping, so every page
// a load, a commit's descent or a reader touched stays counted in the
// server's RSS (RssFile) though it may not be read again; one that is
// faults back from the page cache: MADV_DONTNEED on such a mapping drops
// no data. It must run inside tx, which keeps bbolt from remapping
// meanwhile. A failure leaves the pages where they were, which is no
// fault. Safe for concurrent use, as tx is.
func Release(tx *bolt.Tx) {
	info := tx.DB().Info()
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(tx.Size()), unix.MADV_DONTNEED)
}
