//go:build unix

package offheap

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapBytes is n bytes (rounded up to whole pages) of anonymous private
// memory, its pages present if populate (where the kernel can), or nil
// when the kernel refuses.
func mapBytes(n int, populate bool) []byte {
	page := os.Getpagesize()
	n = max(page, (n+page-1)/page*page)
	flags := unix.MAP_PRIVATE | unix.MAP_ANON
	if populate {
		flags |= mapPopulate
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, flags)
	if err != nil {
		return nil
	}
	return b
}

// unmapBytes gives b back; a failure leaves it mapped, which only wastes it.
func unmapBytes(b []byte) { _ = unix.Munmap(b) }
