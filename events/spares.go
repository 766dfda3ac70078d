package events

import "time"

// spareIdle is how long the writer goes without events before it lets go
// of the buffers it keeps for the next transaction: its arena's chunks
// (up to maxSpareArena) and offs, and the queue's spare blocks.
// In a stream of events they save an allocation and its page faults per
// transaction; once the stream stops they are ~1.5 MB that an idle fleet's
// server held for good after its last burst (issue 17, session 8). Kept
// with the map's pages for the GC hold's 5 minutes, they saved ≲ 0.4 µs
// a burst handshake and added 100-420 B to the RSS per idle client
// (docs/performance-journal.md, session 23).
const spareIdle = 2 * time.Second

// spares times that release. The writer's only.
type spares struct {
	timer *time.Timer
}

// due is a channel that fires spareIdle after the last commit, for the
// idle writer to wait on beside its queue; nil (never fires) while it
// holds nothing to let go of.
func (s *spares) due(held bool, committed time.Time) <-chan time.Time {
	if !held {
		return nil
	}
	wait := max(spareIdle-time.Since(committed), 0)
	if s.timer == nil {
		s.timer = time.NewTimer(wait)
	} else {
		s.timer.Reset(wait)
	}
	return s.timer.C
}

// spareBytes is what the writer keeps for reuse: its arena and offs and
// the queue's spare blocks. The writer's only.
func (l *Log) spareBytes() int {
	return l.arena.spareBytes() + 8*cap(l.offs) + l.q.spareBytes()
}

// dropSpares lets go of them (the writer, once idle for spareIdle).
func (l *Log) dropSpares() {
	l.arena.drop()
	l.offs = nil
	l.q.dropSpares()
	l.spareHeld.Store(0)
}
