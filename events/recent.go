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
// It is a ring of bytes, each committed event's JSON copied in whole (an
// event never wraps), and a ring of their places: what it holds depends on
// the events' sizes, not the transactions'. It held each transaction's
// arena before, whole, and a ramp's 512 KB arenas for its newest 2,048
// events grew it from ~0.7 to ~1.6-2.1 MB between 2,000 and 19,000
// clients (issue 17). Safe for concurrent use.
type recent struct {
	mu    sync.RWMutex
	buf   []byte        // the ring's bytes; an event at ring position p is at p % len(buf)
	spans []recentEvent // event seq's place is spans[seq % recentKeep]
	first uint64        // seq of the oldest event held
	n     int           // events held: first .. first+n-1
	size  int           // their bytes
	end   uint64        // ring position after the newest event
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
const (
	recentMin = 64 << 10
	recentMax = 2 << 20
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

// put appends one event. r.mu must be held.
func (r *recent) put(seq uint64, js []byte) {
	if r.spans == nil {
		r.spans = make([]recentEvent, recentKeep)
	}
	if len(js) > len(r.buf) || (r.n < recentKeep && !r.fits(len(js))) {
		r.grow(len(js))
	}
	if len(js) > len(r.buf) {
		r.n = 0 // larger than the ring may be: read from the file
		return
	}
	at := r.end
	if off := int(at % uint64(len(r.buf))); off+len(js) > len(r.buf) {
		at += uint64(len(r.buf) - off) // never wrap an event: skip the ring's tail
	}
	// Evict what the event overwrites, and the oldest once recentKeep are held.
	for r.n > 0 && (r.n >= recentKeep || r.spans[r.first%recentKeep].at+uint64(len(r.buf)) < at+uint64(len(js))) {
		r.size -= r.spans[r.first%recentKeep].len
		r.first++
		r.n--
	}
	if r.n == 0 {
		r.first, r.size = seq, 0
	}
	off := int(at % uint64(len(r.buf)))
	copy(r.buf[off:], js)
	r.spans[seq%recentKeep] = recentEvent{at: at, len: len(js)}
	r.n++
	r.size += len(js)
	r.end = at + uint64(len(js))
}

// fits says whether an event of size bytes goes in without evicting one.
func (r *recent) fits(size int) bool {
	if r.n == 0 {
		return size <= len(r.buf)
	}
	at := r.end
	if off := int(at % uint64(len(r.buf))); off+size > len(r.buf) {
		at += uint64(len(r.buf) - off)
	}
	return at+uint64(size)-r.spans[r.first%recentKeep].at <= uint64(len(r.buf))
}

// grow makes the ring about what recentKeep events of the held ones'
// average size take with an eighth more (at least twice an event of
// size, within recentMin..recentMax), copying the held events over; it
// starts at recentMin, before any event says what they take.
// r.mu must be held.
func (r *recent) grow(size int) {
	want := 0
	if r.n > 0 {
		want = (r.size + size) * recentKeep / (r.n + 1)
	}
	want = min(max(want+want/8, 2*size, recentMin), recentMax)
	if want <= len(r.buf) {
		return
	}
	buf := make([]byte, want)
	at := uint64(0)
	for i := range r.n {
		s := &r.spans[(r.first+uint64(i))%recentKeep]
		off := int(s.at % uint64(len(r.buf)))
		copy(buf[at:], r.buf[off:off+s.len])
		s.at = at
		at += uint64(s.len)
	}
	r.buf, r.end = buf, at
}

// heldBytes is the ring's bytes and its places: what recent keeps.
func (r *recent) heldBytes() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return cap(r.buf) + cap(r.spans)*16
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
		off := int(s.at % uint64(len(r.buf)))
		f(seq, r.buf[off:off+s.len])
		limit--
	}
}
