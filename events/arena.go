package events

import "sync/atomic"

// arena holds the keys and values of the writer's transaction until it
// commits (bbolt keeps the slices it was given until then), in chunks of
// at most arenaChunk bytes, reused by the next transaction. A transaction
// takes as many chunks as its events fill, so a burst after the idle
// release makes its largest transaction's bytes once. One arena for the
// whole transaction was made anew each time a transaction outgrew it: a
// series of powers of two, 512 KiB then 1 MiB, ~1.5 MB a burst of
// 5,000 handshakes in cliser serve (~300 B a handshake, issue 17). The
// writer's only.
type arena struct {
	used []arenaUsed  // this transaction's chunks, in order
	free [][]byte     // emptied chunks for the next, at most maxSpareArena bytes
	made atomic.Int64 // bytes of the chunks made, for tests
}

// arenaUsed is one chunk of a transaction and where its events' offsets
// end in the writer's offs.
type arenaUsed struct {
	buf  []byte
	offs int
}

// arenaChunk is the most bytes of one chunk; arenaRoom is what a chunk
// must have left for the next event, or it is closed: events are ~200-300
// bytes, and one larger than what is left grows the chunk by append (kept
// only while it is no larger than arenaChunk).
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
		b := a.free[n-1]
		a.free = a.free[:n-1]
		return b[:0]
	}
	size := min(want+want/8+arenaRoom, arenaChunk)
	a.made.Add(int64(size))
	return make([]byte, 0, size)
}

// close ends the chunk buf, whose events' offsets end at offs.
func (a *arena) close(buf []byte, offs int) {
	a.used = append(a.used, arenaUsed{buf: buf, offs: offs})
}

// release takes back the transaction's chunks once bbolt holds them no
// more, keeping up to maxSpareArena bytes of those no larger than
// arenaChunk.
func (a *arena) release() {
	kept := a.spareBytes()
	for i, u := range a.used {
		if c := cap(u.buf); c <= arenaChunk && kept+c <= maxSpareArena {
			a.free = append(a.free, u.buf[:0])
			kept += c
		}
		a.used[i] = arenaUsed{}
	}
	a.used = a.used[:0]
}

// spareBytes is what the kept chunks take.
func (a *arena) spareBytes() int {
	n := 0
	for _, b := range a.free {
		n += cap(b)
	}
	return n
}

// drop lets go of the kept chunks (the idle writer).
func (a *arena) drop() {
	clear(a.free)
	a.free = nil
}
