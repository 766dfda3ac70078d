package registry

// sidAllocator hands out sids 1..65535. It rotates: the search for a free
// sid starts after the last one handed out, so a sid just freed is not given
// again until the whole range has come round, and a client that reconnects
// gets a new sid. A start with a store goes on after the sid of the record
// that connected last (resumeAfter): it started again at 1, and sid 1 named
// another client seconds after a restart (protocol audit). Still, every
// node has its own rotation, and it wraps after 65,535 registrations, so a
// stale sid in a log or a bench report can point at a newer client. The
// client ID, with the node and the connection time, is what names a
// session for good. Not safe for concurrent use; the Registry's lock
// guards it.
type sidAllocator struct {
	used [65536 / 64]uint64
	last uint16
}

// alloc returns a free sid, or 0 when all 65535 are in use.
func (a *sidAllocator) alloc() uint16 {
	s := a.last
	for range 65535 {
		s++
		if s == 0 {
			s = 1
		}
		if a.used[s/64]&(1<<(s%64)) == 0 {
			a.used[s/64] |= 1 << (s % 64)
			a.last = s
			return s
		}
	}
	return 0
}

// resumeAfter has the next search start after s.
func (a *sidAllocator) resumeAfter(s uint16) { a.last = s }

func (a *sidAllocator) free(s uint16) {
	a.used[s/64] &^= 1 << (s % 64)
}

func (a *sidAllocator) inUse(s uint16) bool {
	return a.used[s/64]&(1<<(s%64)) != 0
}
