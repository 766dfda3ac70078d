package registry

import "unsafe"

// textSlab is where the records the registry hands out get their port and
// session name: each record's ~26 bytes of text are cut from one array
// made for many, instead of a small string of its own. The event log's
// emit makes a record for each of a handshake's two events, on the
// loops under the registry's lock, and the allocation of those two
// strings (with its fresh spans) was ~0.4 µs of the emit's ~1.5 µs a
// handshake (issue 17, session 20). An array lives while any text cut
// from it does: the log's queue holds an event's until its writer has
// written it (~100 ms), a caller its record's. r.mu guards it.
type textSlab struct{ buf []byte }

// slabBytes is one array's room: ~150 records' text.
const slabBytes = 4096

// cut is b's text, copied into the slab. The bytes it copies to are
// never written again (the slab only appends, and starts a new array when
// full), which is what makes them a string.
func (s *textSlab) cut(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(s.buf)-len(s.buf) < len(b) {
		s.buf = make([]byte, 0, max(slabBytes, len(b)))
	}
	start := len(s.buf)
	s.buf = append(s.buf, b...)
	return unsafe.String(&s.buf[start], len(b))
}
