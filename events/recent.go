package events

import (
	"slices"
	"sync"

	"github.com/cliser/cliser/internal/offheap"
)

// recent keeps the JSON of the newest events in memory, as the writer
// encoded it, so that a reader close behind the writer (webhook delivery,
// which follows the log within a batch or two) gets it without a bbolt
// read: each event is encoded once and read from the disk never while the
// receiver keeps up. Older events come from the file as before.
//
// It is a ring of bytes in segments, each committed event's JSON copied
// in whole (an event never crosses a segment), and a ring of their places:
// what it holds depends on the events' sizes, not the transactions'. It
// held each transaction's arena before, whole, and a ramp's 512 KB arenas
// for its newest 2,048 events grew it from ~0.7 to ~1.6-2.1 MB between
// 2,000 and 19,000 clients (issue 17). It grows by segments, keeping the
// ones it has: one buffer made anew and copied into at each growth was
// 1.77 MB made in a process's life, 1.2 MB of it in the bench's bursts as
// their disconnects replaced the ramp's smaller connects (issue 17,
// session 14). Safe for concurrent use.
type recent struct {
	mu    sync.RWMutex
	segs  [][]byte      // the ring's bytes: ring position p is at segs[p%len/recentSeg][p%recentSeg]
	spans []recentEvent // event seq's place is spans[seq % recentKeep]
	first uint64        // seq of the oldest event held
	n     int           // events held: first .. first+n-1
	size  int           // their bytes
	end   uint64        // ring position after the newest event
	// mems hold the segments off the Go heap (kept here while segs are
	// read): on the heap the ring's ~0.6 MB raised the GC's goal by half
	// as much again, and the heap a server kept resident after a ramp
	// with it (issue 17, session 16).
	mems []*offheap.Region
}

type recentEvent struct {
	at  uint64 // ring position of its first byte
	len int
}

// recentKeep is how many of the newest events recent holds: two of the
// webhook's largest batches (MaxBatch is 1000), twenty of its default.
// 8,192 was ~5 MB, which a fleet's RSS per client showed.
const recentKeep = 2048

// recentMin and recentMax bound the ring's bytes. It starts at recentMin
// and grows while it cannot hold recentKeep events, to about what they
// take (~0.6 MB at ~300 bytes an event); never past recentMax, so a run
// of large events holds fewer than recentKeep instead of more memory.
// recentSeg is a segment's bytes: the most an event held may take (a
// larger one is read from the file), and the most the ring takes beyond
// what its events need.
const (
	recentMin = 64 << 10
	recentMax = 2 << 20
	recentSeg = 32 << 10
)

// add copies the committed events first.. from arena, each at
// arena[offs[2i]:offs[2i+1]], evicting the oldest as it needs room.
func (r *recent) add(first uint64, arena []byte, offs []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n > 0 && r.first+uint64(r.n) != first {
		r.n = 0 // not the next seq (none is skipped today): start over
	}
	for i := 0; i < len(offs); i += 2 {
		r.put(first+uint64(i/2), arena[offs[i]:offs[i+1]])
	}
}

// ringLen is the ring's bytes.
func (r *recent) ringLen() uint64 { return uint64(len(r.segs)) * recentSeg }

// bytesAt is the ring from position p to the end of its segment.
func (r *recent) bytesAt(p uint64) []byte {
	q := p % r.ringLen()
	return r.segs[q/recentSeg][q%recentSeg:]
}

// put appends one event. r.mu must be held.
func (r *recent) put(seq uint64, js []byte) {
	if r.spans == nil {
		r.spans = make([]recentEvent, recentKeep)
	}
	if len(js) > recentSeg {
		r.n = 0 // larger than a segment: read from the file
		return
	}
	if len(r.segs) == 0 || (r.n < recentKeep && !r.fits(len(js))) {
		r.grow(len(js))
	}
	at := r.nextAt(len(js))
	// Evict what the event overwrites, and the oldest once recentKeep are held.
	for r.n > 0 && (r.n >= recentKeep || r.spans[r.first%recentKeep].at+r.ringLen() < at+uint64(len(js))) {
		r.size -= r.spans[r.first%recentKeep].len
		r.first++
		r.n--
	}
	if r.n == 0 {
		r.first, r.size = seq, 0
	}
	copy(r.bytesAt(at), js)
	r.spans[seq%recentKeep] = recentEvent{at: at, len: len(js)}
	r.n++
	r.size += len(js)
	r.end = at + uint64(len(js))
}

// nextAt is where the next event of size bytes goes: the end, or the
// next segment's start when it does not fit in the end's.
func (r *recent) nextAt(size int) uint64 {
	at := r.end
	if off := int(at % recentSeg); off+size > recentSeg {
		at += uint64(recentSeg - off)
	}
	return at
}

// fits says whether an event of size bytes goes in without evicting one.
func (r *recent) fits(size int) bool {
	if r.n == 0 {
		return size <= recentSeg
	}
	return r.nextAt(size)+uint64(size)-r.spans[r.first%recentKeep].at <= r.ringLen()
}

// grow makes the ring about what recentKeep events of the held ones'
// average size take with an eighth more (at least twice an event of
// size, within recentMin..recentMax), in whole segments; it starts at
// recentMin, before any event says what they take. The held events stay
// in their segments: the segments are put in order from the oldest
// event's, and only the newest events that wrapped around into the front
// of that one are copied, to a segment after the others.
// r.mu must be held.
func (r *recent) grow(size int) {
	want := 0
	if r.n > 0 {
		want = (r.size + size) * recentKeep / (r.n + 1)
	}
	want = min(max(want+want/8, 2*size, recentMin), recentMax)
	nseg := (want + recentSeg - 1) / recentSeg
	if nseg <= len(r.segs) {
		return
	}
	segs := make([][]byte, 0, nseg)
	if r.n == 0 {
		segs, r.end = append(segs, r.segs...), 0
	} else {
		ring, m := r.ringLen(), len(r.segs)
		oldest := r.spans[r.first%recentKeep].at
		base, k := oldest-oldest%recentSeg, int(oldest%ring/recentSeg)
		for i := range m {
			segs = append(segs, r.segs[(k+i)%m])
		}
		wrapped := recentSeg * uint64(m) // where what wrapped into segs[0]'s front goes: a new segment
		for i := range r.n {
			s := &r.spans[(r.first+uint64(i))%recentKeep]
			if s.at -= base; s.at >= ring {
				if len(segs) == m {
					segs = append(segs, r.newSeg())
				}
				off := s.at - ring
				copy(segs[m][off:], segs[0][off:off+uint64(s.len)])
				s.at = wrapped + off
			}
		}
		if r.end -= base; r.end > ring {
			r.end = wrapped + r.end - ring
		}
	}
	for len(segs) < nseg {
		segs = append(segs, r.newSeg())
	}
	r.segs = segs
}

// newSeg is a segment of the ring, off the Go heap. r.mu must be held.
func (r *recent) newSeg() []byte {
	m := offheap.New(recentSeg)
	r.mems = append(r.mems, m)
	return m.Bytes()[:recentSeg]
}

// heldBytes is the ring's bytes and its places: what recent keeps.
func (r *recent) heldBytes() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.segs)*recentSeg + cap(r.spans)*16
}

// read is AppendRaw from memory: up to limit events with after < seq <=
// newest, appended to out and their JSON to buf. ok is false when recent
// does not hold the event after `after` (it is older, or nothing is kept
// yet): read the file then.
func (r *recent) read(out []Raw, buf []byte, after, newest uint64, limit int) ([]Raw, []byte, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.n == 0 || after+1 < r.first {
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
// order, their JSON still in the ring. r.mu must be held.
func (r *recent) each(after, newest uint64, limit int, f func(seq uint64, js []byte)) {
	last := min(r.first+uint64(r.n)-1, newest)
	for seq := max(after+1, r.first); seq <= last && limit > 0; seq++ {
		s := r.spans[seq%recentKeep]
		f(seq, r.bytesAt(s.at)[:s.len])
		limit--
	}
}
