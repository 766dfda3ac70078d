package offheap

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident is how many of b's pages are in memory, without touching them.
func resident(t *testing.T, b []byte) (in, pages int) {
	t.Helper()
	vec := make([]byte, (len(b)+os.Getpagesize()-1)/os.Getpagesize())
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	for _, v := range vec {
		in += int(v & 1)
	}
	return in, len(vec)
}

// A populated region's pages are present before the first touch (one
// mmap, not a fault a page); a plain one's are not.
func TestNewPopulatedMapsEveryPage(t *testing.T) {
	p := NewPopulated(64 << 10)
	defer p.Release()
	if in, pages := resident(t, p.Bytes()); in != pages {
		t.Fatalf("populated: %d of %d pages resident", in, pages)
	}
	r := New(64 << 10)
	defer r.Release()
	if in, pages := resident(t, r.Bytes()); in != 0 {
		t.Fatalf("plain: %d of %d pages resident before a touch", in, pages)
	}
}
