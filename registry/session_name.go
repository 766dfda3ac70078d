package registry

import (
	"strconv"
	"strings"
)

// sessionName is a session's name (EVENTS.md) as an entry holds it: a
// shared prefix and a counter. The names a process hands out are its random
// prefix and a counter in base 36; as a string each took ~20 bytes of heap
// (24 with its size class) per record, now the prefix is held once. The
// field is as large as the string header it replaces.
type sessionName struct {
	prefix *string // shared; the whole name when n is 0; nil for none
	n      uint64
}

// String is the name as callers and the store see it.
func (s sessionName) String() string {
	if s.prefix != nil && s.n == 0 {
		return *s.prefix // no copy
	}
	var buf [64]byte
	return string(s.appendTo(buf[:0]))
}

// appendTo appends the name to dst, as String gives it.
func (s sessionName) appendTo(dst []byte) []byte {
	switch {
	case s.prefix == nil:
		return dst
	case s.n == 0:
		return append(dst, *s.prefix...)
	}
	return strconv.AppendUint(append(dst, *s.prefix...), s.n, 36)
}

// sessionNames shares the prefixes of the names read from the store: one
// process's names share one. Not safe for concurrent use; Load uses one.
type sessionNames map[string]*string

// of is name held compactly. A name not of the form prefix-counter (the
// counter in canonical base 36, as nextSessionLocked writes it) is kept
// whole.
func (m sessionNames) of(name string) sessionName {
	if name == "" {
		return sessionName{}
	}
	i := strings.LastIndexByte(name, '-') + 1
	n, err := strconv.ParseUint(name[i:], 36, 64)
	if i == 0 || err != nil || n == 0 || strconv.FormatUint(n, 36) != name[i:] {
		return sessionName{prefix: &name}
	}
	p, ok := m[name[:i]]
	if !ok {
		s := strings.Clone(name[:i]) // not the whole name's memory
		p = &s
		m[s] = p
	}
	return sessionName{prefix: p, n: n}
}
