package events

import (
	"unsafe"

	"github.com/cliser/cliser/internal/offheap"
)

// distances are the client index's 4 bytes an event, in seq order, in
// chunks of distChunk mapped outside the Go heap (internal/offheap). As
// one slice on the heap they grew by doubling (a copy and twice the room
// at each step, ~33 B a handshake of a growing log's garbage) and, at the
// default retention (4 MB), raised the GC's goal by 2 MB (issue 17,
// session 16). Pushing fills the last chunk; dropping the oldest gives
// back each chunk they alone held, keeping one for the next push. The
// index's lock guards them.
type distances struct {
	chunks []distChunk
	off    int // where the oldest distance is in chunks[0]
	n      int // distances held
	spare  distChunk
}

// distChunk is one chunk: d is mem's bytes, mem kept while d is read.
type distChunk struct {
	d   []uint32
	mem *offheap.Region
}

// distChunk's size: 64 KiB, one a 16,384 events.
const distChunkLen = 16 << 10

func (b *distances) len() int { return b.n }

// at is the i-th distance held (i < len).
func (b *distances) at(i int) uint32 {
	p := b.off + i
	return b.chunks[p/distChunkLen].d[p%distChunkLen]
}

// push appends d.
func (b *distances) push(d uint32) {
	p := b.off + b.n
	if p/distChunkLen == len(b.chunks) {
		b.chunks = append(b.chunks, b.takeChunk())
	}
	b.chunks[p/distChunkLen].d[p%distChunkLen] = d
	b.n++
}

// dropFirst forgets the oldest k (at most len) distances.
func (b *distances) dropFirst(k int) {
	b.off, b.n = b.off+k, b.n-k
	if b.n == 0 {
		b.off += len(b.chunks) * distChunkLen // every chunk goes
	}
	for b.off >= distChunkLen && len(b.chunks) > 0 {
		b.giveChunk(b.chunks[0])
		b.chunks = b.chunks[:copy(b.chunks, b.chunks[1:])]
		b.off -= distChunkLen
	}
	if b.n == 0 {
		b.off = 0
	}
}

// takeChunk is the kept chunk, else a new one. Its distances are written
// before they are read, so an old chunk needs no clearing.
func (b *distances) takeChunk() distChunk {
	if c := b.spare; c.mem != nil {
		b.spare = distChunk{}
		return c
	}
	mem := offheap.New(distChunkLen * 4)
	d := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(mem.Bytes()))), distChunkLen)
	return distChunk{d: d, mem: mem}
}

// giveChunk keeps c for the next push, or unmaps it when one is kept.
func (b *distances) giveChunk(c distChunk) {
	if b.spare.mem == nil {
		b.spare = c
		return
	}
	c.mem.Release()
}
