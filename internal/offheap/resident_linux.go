package offheap

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages counts b's pages present in memory (mincore), without
// touching them: b is page-aligned, as mapBytes maps it. It asks for 256
// pages at a time, so a scrape allocates nothing.
func residentPages(b []byte) (int, error) {
	page := os.Getpagesize()
	var vec [256]byte
	in := 0
	for len(b) > 0 {
		n := min(len(b), len(vec)*page)
		_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(n), uintptr(unsafe.Pointer(&vec[0])))
		if errno != 0 {
			return 0, fmt.Errorf("offheap: mincore: %w", errno)
		}
		for _, v := range vec[:(n+page-1)/page] {
			in += int(v & 1)
		}
		b = b[n:]
	}
	return in, nil
}
