// Package offheap holds bytes outside the Go heap: the GC neither scans
// them nor counts them when it paces itself (with the server's GOGC=50 a
// table on the heap let the heap grow by half the table's size before
// the next collection), and a page not written yet costs no RSS, so room
// reserved for growth is free. The credentials' table and the event
// log's fixed buffers live here (issue 17).
package offheap

import (
	"os"
	"runtime"
)

// Region is memory outside the Go heap. It is unmapped when it is
// released or else once nothing reaches the Region: a user keeps the
// Region (not only its bytes) while it reads them. It holds no pointers,
// so none may be stored in it; the race detector does not see accesses
// to it (its users guard every one with their own lock).
type Region struct {
	b       []byte
	mapped  bool // else on the heap: mmap refused
	cleanup runtime.Cleanup
}

// New maps at least n bytes (rounded up to whole pages), zeroed.
func New(n int) *Region { return newRegion(n, false) }

// NewPopulated is New with every page present from the start: one
// system call for all of them instead of a page fault at each first
// touch, ~5x cheaper a page on this project's VMs (2.1 against 10.3 µs,
// issue 17, session 17). For memory about to be written whole.
func NewPopulated(n int) *Region { return newRegion(n, true) }

func newRegion(n int, populate bool) *Region {
	r := &Region{b: mapBytes(n, populate)}
	if onHeap := r.b == nil; onHeap {
		r.b = make([]byte, n) // no mmap here: the heap has to do
		return r
	}
	r.mapped = true
	r.cleanup = runtime.AddCleanup(r, unmapBytes, r.b)
	return r
}

// Bytes is the region's memory, its length the size mapped.
func (r *Region) Bytes() []byte { return r.b }

// Release unmaps r at once; nothing may read its bytes after.
func (r *Region) Release() {
	if r == nil {
		return
	}
	if r.mapped {
		r.cleanup.Stop()
		unmapBytes(r.b)
	}
	r.b, r.mapped = nil, false
}

// Resident is how many bytes of r are in memory now: its pages present
// (a page not written yet costs nothing), or all of it on the heap.
func (r *Region) Resident() (int, error) {
	if r == nil {
		return 0, nil
	}
	if !r.mapped {
		return len(r.b), nil
	}
	pages, err := residentPages(r.b)
	return pages * os.Getpagesize(), err
}
