package registry

import (
	"math"
	"strconv"
	"strings"
)

// sessionName is a session's name (EVENTS.md) as an entry holds it, in 8
// bytes: the index of a prefix in the registry's nameTable (high half)
// and a counter (low half), the name being the prefix and the counter in
// base 36. Counter 0: the table holds the whole name. The zero value is
// no name (the table's first text is ""). As a string a name took ~20
// bytes of heap per record, as a prefix pointer and a counter 16.
type sessionName uint64

func makeName(prefix, n uint32) sessionName { return sessionName(uint64(prefix)<<32 | uint64(n)) }

func (s sessionName) split() (prefix, n uint32) { return uint32(s >> 32), uint32(s) }

// nameTable holds the prefixes of the names a registry holds, and the
// names read from the store that have no prefix of that form, whole: one
// per process that named sessions (a random prefix each, see
// newSessionPrefix), so a few. It only grows. r.mu guards it.
type nameTable []string

func newNameTable() nameTable { return nameTable{""} }

// add puts text in the table and returns its index.
func (t *nameTable) add(text string) uint32 {
	*t = append(*t, text)
	return uint32(len(*t) - 1)
}

// appendTo appends s's name to dst, as String gives it.
func (t nameTable) appendTo(dst []byte, s sessionName) []byte {
	p, n := s.split()
	dst = append(dst, t[p]...)
	if n == 0 {
		return dst
	}
	return strconv.AppendUint(dst, uint64(n), 36)
}

// portAndName are a record's port and session name as callers see them,
// cut from slab in one piece: every event of a connection carries both,
// and as strings of their own they were two of the event log's
// allocations a handshake (issue 17, sessions 16 and 20).
func (t nameTable) portAndName(port uint16, s sessionName, slab *textSlab) (cport, name string) {
	var buf [64]byte
	b := strconv.AppendUint(buf[:0], uint64(port), 10)
	k := len(b)
	if p, n := s.split(); n == 0 {
		return slab.cut(b), t[p] // the table's text: no copy
	}
	text := slab.cut(t.appendTo(b, s))
	return text[:k], text[k:]
}

// sessionNames reads the names of stored records into a nameTable, one
// entry per prefix. Not safe for concurrent use; Load uses one.
type sessionNames struct {
	t    *nameTable
	seen map[string]uint32 // text → index in t
}

func newSessionNames(t *nameTable) sessionNames {
	return sessionNames{t: t, seen: map[string]uint32{}}
}

// of is name held compactly. A name not of the form prefix-counter (the
// counter in canonical base 36, as nextSessionLocked writes it, and
// within 32 bits) is kept whole.
func (m sessionNames) of(name string) sessionName {
	if name == "" {
		return 0
	}
	i := strings.LastIndexByte(name, '-') + 1
	n, err := strconv.ParseUint(name[i:], 36, 32)
	if i == 0 || err != nil || n == 0 || strconv.FormatUint(n, 36) != name[i:] {
		return makeName(m.index(name), 0)
	}
	return makeName(m.index(name[:i]), uint32(n))
}

// index is text's index in the table, added once.
func (m sessionNames) index(text string) uint32 {
	if p, ok := m.seen[text]; ok {
		return p
	}
	text = strings.Clone(text) // not the whole name's memory
	p := m.t.add(text)
	m.seen[text] = p
	return p
}

// lastCount is the highest counter a prefix takes: past it the registry
// names its sessions under a new random prefix.
const lastCount = math.MaxUint32
