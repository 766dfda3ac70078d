package registry

// sidAllocator hands out sids 1..65535. It rotates: the search for a free
// sid starts after the last one handed out, so a sid just freed is not given
// again until the whole range has come round. A client that reconnects thus
// gets a new sid, and a stale sid in a log or a bench report never points at
// a newer client. Not safe for concurrent use; the Registry's lock guards it.
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

func (a *sidAllocator) free(s uint16) {
	a.used[s/64] &^= 1 << (s % 64)
}

func (a *sidAllocator) inUse(s uint16) bool {
	return a.used[s/64]&(1<<(s%64)) != 0
}
