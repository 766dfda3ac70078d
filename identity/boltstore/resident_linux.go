package boltstore

import (
	"golang.org/x/sys/unix"

	bolt "go.etcd.io/bbolt"
)

// dropResident lets the kernel unmap the pages of the file that tx has
// read from this process's memory. bbolt reads through a read-only shared
// mapping, so every page a Load touches stays counted in the server's RSS
// (~400 B a credential) though nothing reads it again until a write's
// lookup, which faults the few pages it needs back from the page cache:
// MADV_DONTNEED on such a mapping drops no data. It must run inside tx,
// which keeps bbolt from remapping meanwhile. A failure leaves the pages
// where they were, which is no fault.
func dropResident(tx *bolt.Tx) {
	info := tx.DB().Info()
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(tx.Size()), unix.MADV_DONTNEED)
}
