package events

import (
	"slices"
	"sync"
)

// recent keeps the JSON of the newest events in memory, as the writer
// encoded it, so that a reader close behind the writer (webhook delivery,
// which follows the log within a batch or two) gets it without a bbolt
// read: each event is encoded once and read from the disk never while the
// receiver keeps up. Older events come from the file as before.
//
// A segment is one committed transaction: the writer's arena itself
// (blocks: an 8-byte key, then events' JSON a line each), handed over
// after the commit when bbolt no longer holds it, so keeping it copies
// nothing. An evicted arena may go back to the writer. Safe for
// concurrent use.
type recent struct {
	mu        sync.RWMutex
	segs      []segment
	n         int      // events in segs
	spare     [][]byte // evicted arenas, for the writer's next transactions
	spareOffs []int    // an evicted segment's offs, likewise
}

type segment struct {
	first uint64 // seq of the first event
	buf   []byte // the transaction's arena
	offs  []int  // each event's JSON in buf: start, end
}

func (s *segment) events() int { return len(s.offs) / 2 }

// recentKeep is how many events recent holds at least once it has them:
// two of the webhook's largest batches (MaxBatch is 1000), twenty of its
// default. It is memory for good, up to a transaction's more (~0.6 MB at
// ~300 bytes an event); 8,192 was ~5 MB, which a fleet's RSS per client
// showed.
const recentKeep = 2048

// maxSpareArenas is the evicted arenas kept for the writer: two, so that
// a transaction that evicts nothing (a burst's transactions vary in size,
// and recent evicts only what it can spare) still gets the one left from
// the last eviction instead of a new arena.
const maxSpareArenas = 2

// maxSpareArena is the largest arena kept for reuse: a transaction of
// logChunk events (~0.7 MB at ~340 bytes an event) fits. At 256 KB a
// storm's transactions (a burst of 5,000 handshakes commits ~1,000 events
// at a time) took a fresh arena each, its pages faulted in by the encoder:
// BenchmarkLogAppend allocated 740-760 B an event, 403-439 B with this,
// and its cpu-ns/event fell to 0.83-0.93x (three interleaved rounds,
// loaded machine). It is one buffer kept for good, not per client.
const maxSpareArena = 1 << 20

// add keeps the committed arena buf, holding the events first.. in the
// layout write made, and returns an arena and an offs for the next
// transaction (nil when it has none to give).
func (r *recent) add(first uint64, buf []byte, offs []int) ([]byte, []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.segs = append(r.segs, segment{first: first, buf: buf, offs: offs})
	r.n += len(offs) / 2
	for len(r.segs) > 1 && r.n-r.segs[0].events() >= recentKeep {
		r.keepSpare(r.segs[0].buf[:0])
		if cap(r.segs[0].offs) > cap(r.spareOffs) && cap(r.segs[0].offs) <= 2*logChunk {
			r.spareOffs = r.segs[0].offs[:0]
		}
		r.n -= r.segs[0].events()
		r.segs[0] = segment{}
		r.segs = r.segs[1:]
	}
	offs = r.spareOffs
	r.spareOffs = nil
	// The largest: the next transaction is likely as large as the last.
	k := -1
	for i, b := range r.spare {
		if k < 0 || cap(b) > cap(r.spare[k]) {
			k = i
		}
	}
	if k < 0 {
		return nil, offs
	}
	b := r.spare[k]
	r.spare = slices.Delete(r.spare, k, k+1)
	return b, offs
}

// keepSpare keeps an evicted arena for the writer, in place of the
// smallest kept when maxSpareArenas are.
func (r *recent) keepSpare(b []byte) {
	if cap(b) > maxSpareArena {
		return
	}
	if len(r.spare) < maxSpareArenas {
		r.spare = append(r.spare, b)
		return
	}
	k := 0
	for i := range r.spare {
		if cap(r.spare[i]) < cap(r.spare[k]) {
			k = i
		}
	}
	if cap(b) > cap(r.spare[k]) {
		r.spare[k] = b
	}
}

// spareBytes is the evicted arenas kept for the writer.
func (r *recent) spareBytes() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 8 * cap(r.spareOffs)
	for _, b := range r.spare {
		n += cap(b)
	}
	return n
}

// dropSpares lets go of the evicted arenas kept for the writer.
func (r *recent) dropSpares() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.spare)
	r.spare, r.spareOffs = r.spare[:0], nil
}

// read is AppendRaw from memory: up to limit events with after < seq <=
// newest, appended to out and their JSON to buf. ok is false when recent
// does not hold the event after `after` (it is older, or nothing is kept
// yet): read the file then.
func (r *recent) read(out []Raw, buf []byte, after, newest uint64, limit int) ([]Raw, []byte, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.segs) == 0 || after+1 < r.segs[0].first {
		return out, buf, false
	}
	// Two passes: the first sizes the answer, so that the second copies
	// each event once into a buffer that does not move meanwhile.
	n, size := 0, 0
	r.each(after, newest, limit, func(_ uint64, js []byte) { n, size = n+1, size+len(js) })
	out, buf = slices.Grow(out, n), slices.Grow(buf, size)
	r.each(after, newest, limit, func(seq uint64, js []byte) { out, buf = appendRaw(out, buf, seq, js) })
	return out, buf, true
}

// each calls f with up to limit events with after < seq <= newest, in
// order, their JSON still in the segment. r.mu must be held.
func (r *recent) each(after, newest uint64, limit int, f func(seq uint64, js []byte)) {
	for _, s := range r.segs {
		if s.first+uint64(s.events()) <= after+1 {
			continue // all of it at or before after
		}
		for i := int(max(after+1, s.first) - s.first); i < s.events() && limit > 0; i++ {
			seq := s.first + uint64(i)
			if seq > newest {
				return
			}
			f(seq, s.buf[s.offs[2*i]:s.offs[2*i+1]])
			limit--
		}
	}
}
