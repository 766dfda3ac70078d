package logstore

import (
	"os"
	"syscall"
	"unsafe"
)

// The store reads its files through read-only mappings and keeps a
// compaction's table in an anonymous one: none of it is Go heap, so none
// of it grows the heap the GC paces itself by (GOGC=50), and all of it
// leaves the process's RSS when it is unmapped, at the end of the Load or
// the compaction that mapped it.

// mapFile maps the first n bytes of f read-only; n == 0 maps nothing.
func mapFile(f *os.File, n int64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	return syscall.Mmap(int(f.Fd()), 0, int(n), syscall.PROT_READ, syscall.MAP_SHARED)
}

// mapTable maps n zeroed uint64 slots off the Go heap.
func mapTable(n int) ([]uint64, []byte, error) {
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, nil, err
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n), b, nil
}

// unmap releases a mapping; nil is none.
func unmap(b []byte) {
	if b != nil {
		_ = syscall.Munmap(b)
	}
}
