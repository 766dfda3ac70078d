package reactor

import "sync/atomic"

// wheel is a hashed timing wheel of sessions, one per event loop and used
// only on that loop. Why a wheel and not a sweep over all sessions: with
// tens of thousands of idle clients a sweep touches every session every
// tick, while the wheel touches a slot's worth — roughly the sessions due in
// that tick plus those parked for a later round. Each session is linked into
// at most one slot through its own prev/next pointers, so scheduling and
// removal are O(1) and allocate nothing. A session keeps its tick in 32
// bits, its slot being the tick's low bits: the tick wraps after 2^32 ticks
// (49 days at the finest default tick), and the arithmetic on it is
// wrap-safe while nothing is scheduled 2^31 ticks ahead (options.validate).
type wheel struct {
	slots []*session // list heads
	res   int64      // nanoseconds per slot
	next  int64      // the first tick not advanced over yet
	size  int        // sessions scheduled

	// soonest is the first tick whose slot may hold a session due, read by
	// the ticker (another goroutine) to skip a loop with nothing to do. It
	// is never later than the true one: a slot's sessions may belong to a
	// later round, and removals leave it be.
	soonest atomic.Int64
}

// wheelSlots makes a round a little longer than a thousand ticks: the
// default tick is a thousandth of the shortest timeout, so a keep-alive
// interval fits in one round, and a slot seldom holds a session of a later
// round, which would make the ticker wake the loop for nothing.
const wheelSlots = 1024

func newWheel(res, now int64) *wheel {
	return &wheel{slots: make([]*session, wheelSlots), res: res, next: now / res}
}

// schedule (re)arms s to fire at due (monotonic nanoseconds).
func (w *wheel) schedule(s *session, due int64) {
	w.remove(s)
	// Round up: the slot of tick t is walked once now >= t*res, so a
	// session whose due lies inside a tick must wait for the next one, or
	// it would be walked early, skipped, and parked for a whole round.
	tick := max((due+w.res-1)/w.res, w.next)
	s.due = uint32(tick)
	slot := slotOf(s.due)
	s.tnext = w.slots[slot]
	if s.tnext != nil {
		s.tnext.tprev = s
	}
	w.slots[slot] = s
	w.size++
	if tick < w.soonest.Load() {
		w.soonest.Store(tick)
	}
}

// slotOf is the slot of a tick: 2^32 is a multiple of wheelSlots, so the
// low bits are the same whether the tick has wrapped or not.
func slotOf(tick uint32) int { return int(tick % wheelSlots) }

// scheduled reports whether s is linked into a slot: past the head it
// has a prev, and a head is its own slot's.
func (w *wheel) scheduled(s *session) bool {
	return s.tprev != nil || w.slots[slotOf(s.due)] == s
}

// remove unlinks s if it is scheduled.
func (w *wheel) remove(s *session) {
	if !w.scheduled(s) {
		return
	}
	if s.tprev != nil {
		s.tprev.tnext = s.tnext
	} else {
		w.slots[slotOf(s.due)] = s.tnext
	}
	if s.tnext != nil {
		s.tnext.tprev = s.tprev
	}
	s.tprev, s.tnext = nil, nil
	w.size--
}

// dueTick is s's tick in full, counted from the wheel's next: the one
// whose low 32 bits s keeps, within 2^31 ticks of next.
func (w *wheel) dueTick(s *session) int64 {
	return w.next + int64(int32(s.due-uint32(w.next)))
}

// dueAt is when s's tick begins (monotonic nanoseconds): its due rounded
// up to the tick, which is when the wheel fires it.
func (w *wheel) dueAt(s *session) int64 { return w.dueTick(s) * w.res }

// advance unlinks every session due by now and appends it to due, which the
// caller fires after advance returns: firing may reschedule, and a session
// rescheduled into the slot being walked must not be seen twice.
func (w *wheel) advance(now int64, due []*session) []*session {
	last := now / w.res
	if last-w.next >= wheelSlots {
		w.next = last - wheelSlots + 1 // a long stall: each slot once is enough
	}
	for ; w.next <= last; w.next++ {
		for s := w.slots[w.next%wheelSlots]; s != nil; {
			nxt := s.tnext
			if w.dueTick(s) <= last {
				w.remove(s)
				due = append(due, s)
			}
			s = nxt
		}
	}
	w.soonest.Store(w.firstOccupied())
	return due
}

// firstOccupied is the first tick from next on whose slot is not empty;
// with every slot empty, a round ahead, when the ticker looks again anyway.
func (w *wheel) firstOccupied() int64 {
	for t := w.next; t < w.next+wheelSlots; t++ {
		if w.slots[t%wheelSlots] != nil {
			return t
		}
	}
	return w.next + wheelSlots
}

// idleUntil reports whether nothing can fall due before now (monotonic
// nanoseconds), so a walk would find nothing. Safe from any goroutine.
func (w *wheel) idleUntil(now int64) bool { return now/w.res < w.soonest.Load() }

// soonestAt is when (monotonic nanoseconds) the first tick that may hold a
// session due begins. Safe from any goroutine.
func (w *wheel) soonestAt() int64 { return w.soonest.Load() * w.res }

// each calls f for every scheduled session (a drain closing them all).
func (w *wheel) each(f func(*session)) {
	var all []*session
	for _, head := range w.slots {
		for s := head; s != nil; s = s.tnext {
			all = append(all, s)
		}
	}
	for _, s := range all {
		f(s)
	}
}
