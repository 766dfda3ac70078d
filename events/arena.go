package events

import (
	"sync/atomic"
	"unsafe"

	"github.com/cliser/cliser/internal/offheap"
)

// arena holds the keys and values of the writer's transaction until it
// commits (bbolt keeps the slices it was given until then), in chunks of
// at most arenaChunk bytes, reused by the next transaction. A transaction
// takes as many chunks as its events fill, so a burst after the idle
// release makes its largest transaction's bytes once. One arena for the
// whole transaction was made anew each time a transaction outgrew it: a
// series of powers of two, 512 KiB then 1 MiB, ~1.5 MB a burst of
// 5,000 handshakes in cliser serve (~300 B a handshake, issue 17). The
// writer's only.
//
// The chunks are off the Go heap (they hold bytes only) and mapped with
// their pages present: on the heap each burst after the idle release made
// ~0.6 MB of garbage (~170 B a handshake) that the scavenger returned to
// the OS after the burst and the next burst faulted back in a page at a
// time (~10 µs a fault on this project's VMs). Now the idle release
// unmaps them and the next burst maps them again in one call a chunk
// (issue 17, session 17).
type arena struct {
	used []arenaUsed       // this transaction's chunks, in order
	free []*offheap.Region // emptied chunks for the next, at most maxSpareArena bytes
	cur  *offheap.Region   // the chunk next handed out, until close
	made atomic.Int64      // bytes of the chunks made, for tests
}

// arenaUsed is one chunk of a transaction, where its events' offsets end
// in the writer's offs, and the region it was handed out in (buf leaves
// it when an event larger than the room left grows it by append).
type arenaUsed struct {
	buf  []byte
	offs int
	mem  *offheap.Region
}

// arenaChunk is the most bytes of one chunk; arenaRoom is what a chunk
// must have left for the next event, or it is closed: events are ~200-300
// bytes, and one larger than what is left grows the chunk by append onto
// the heap (that chunk is not kept).
const (
	arenaChunk = 64 << 10
	arenaRoom  = 4 << 10
)

// maxSpareArena is the most bytes of chunks the writer keeps for its next
// transaction: a whole one of logChunk events (~0.6 MB at ~300 bytes an
// event) fits. They are let go of once the log is idle.
const maxSpareArena = 1 << 20

// next is an emptied chunk for about want more bytes: a kept one, else a
// new one of want and arenaRoom (a trickle's transactions take small
// ones), at most arenaChunk.
func (a *arena) next(want int) []byte {
	if n := len(a.free); n > 0 {
		a.cur = a.free[n-1]
		a.free = a.free[:n-1]
		return a.cur.Bytes()[:0]
	}
	a.cur = offheap.NewPopulated(min(want+want/8+arenaRoom, arenaChunk)) // written whole: see NewPopulated
	a.made.Add(int64(len(a.cur.Bytes())))
	return a.cur.Bytes()[:0]
}

// close ends the chunk buf, whose events' offsets end at offs.
func (a *arena) close(buf []byte, offs int) {
	a.used = append(a.used, arenaUsed{buf: buf, offs: offs, mem: a.cur})
	a.cur = nil
}

// release takes back the transaction's chunks once bbolt holds them no
// more, keeping up to maxSpareArena bytes of those still in their region;
// the rest are unmapped.
func (a *arena) release() {
	if a.cur != nil { // a failed transaction's open chunk
		a.cur.Release()
		a.cur = nil
	}
	kept := a.spareBytes()
	for i, u := range a.used {
		inPlace := unsafe.SliceData(u.buf) == unsafe.SliceData(u.mem.Bytes())
		if size := len(u.mem.Bytes()); inPlace && kept+size <= maxSpareArena {
			a.free = append(a.free, u.mem)
			kept += size
		} else {
			u.mem.Release()
		}
		a.used[i] = arenaUsed{}
	}
	a.used = a.used[:0]
}

// spareBytes is what the kept chunks take.
func (a *arena) spareBytes() int {
	n := 0
	for _, r := range a.free {
		n += len(r.Bytes())
	}
	return n
}

// drop lets go of the kept chunks (the idle writer).
func (a *arena) drop() {
	for _, r := range a.free {
		r.Release()
	}
	clear(a.free)
	a.free = nil
}
