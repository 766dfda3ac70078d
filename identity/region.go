package identity

import "runtime"

// region is memory outside the Go heap for the credential table's bytes:
// the GC neither scans it nor counts it when it paces itself (with the
// server's GOGC=50 a table on the heap let the heap grow by half the
// table's size before the next collection), and a page the table has
// not written yet costs no RSS, so room reserved for growth is free.
// It is unmapped when it is released (a table replaced by a load, a
// region outgrown) or else once nothing reaches it: never at the
// Service's Close, after which an event loop may still ask. It holds no
// pointers, so none may be stored in it; the race detector does not see
// accesses to it (the Service's mu guards every one).
type region struct {
	b       []byte
	cleanup runtime.Cleanup
}

// newRegion maps at least n bytes (rounded up to whole pages), zeroed.
func newRegion(n int) *region {
	r := &region{b: mapBytes(n)}
	if onHeap := r.b == nil; onHeap {
		r.b = make([]byte, n) // no mmap here: the heap has to do
		return r
	}
	r.cleanup = runtime.AddCleanup(r, unmapBytes, r.b)
	return r
}

// release unmaps r at once; nothing may read its bytes after.
func (r *region) release() {
	if r == nil {
		return
	}
	r.cleanup.Stop()
	if r.b != nil {
		unmapBytes(r.b)
	}
	r.b = nil
}
