//go:build unix

package offheap

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapBytes is n bytes (rounded up to whole pages) of anonymous private
// memory, or nil when the kernel refuses.
func mapBytes(n int) []byte {
	page := os.Getpagesize()
	n = max(page, (n+page-1)/page*page)
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil
	}
	return b
}

// unmapBytes gives b back; a failure leaves it mapped, which only wastes it.
func unmapBytes(b []byte) { _ = unix.Munmap(b) }
