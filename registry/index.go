package registry

import "hash/maphash"

// cidIndex finds an entry by its cid in about one probe, where the
// B-tree's search compared ~15 cids, each behind two pointers (the entry,
// then its cid's bytes): in the harness's bursts that search was most of
// a registration's time in the registry (issue 17, session 10). The
// B-tree stays for what needs the order (cursor pages, the sweep).
//
// It is an open-addressing table of entry pointers with linear probing,
// between 3/8 and 3/4 full once grown: 11 to 21 bytes a record, where a Go
// map of cid to entry holds a 16-byte string header and a pointer per
// slot (~40 bytes a record). Not safe for concurrent use: the registry's
// mu guards it.
type cidIndex struct {
	seed  maphash.Seed
	slots []*entry // len is a power of two, or 0
	n     int
}

// minIndexSlots is the table's smallest size once it holds anything.
const minIndexSlots = 64

func newCIDIndex() cidIndex { return cidIndex{seed: maphash.MakeSeed()} }

func (x *cidIndex) home(cid string) int {
	return int(maphash.String(x.seed, cid) & uint64(len(x.slots)-1))
}

// get returns cid's entry, or nil.
func (x *cidIndex) get(cid string) *entry {
	if x.n == 0 {
		return nil
	}
	mask := len(x.slots) - 1
	for i := x.home(cid); ; i = (i + 1) & mask {
		e := x.slots[i]
		if e == nil || e.cid == cid {
			return e
		}
	}
}

// put adds e, or puts it in place of the entry of the same cid.
func (x *cidIndex) put(e *entry) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.resize(max(minIndexSlots, 2*len(x.slots)))
	}
	mask := len(x.slots) - 1
	for i := x.home(e.cid); ; i = (i + 1) & mask {
		switch old := x.slots[i]; {
		case old == nil:
			x.slots[i] = e
			x.n++
			return
		case old.cid == e.cid:
			x.slots[i] = e
			return
		}
	}
}

// del removes e, if it is the entry held for its cid. The entries after
// it in its run move back, so that no search stops short at the hole.
func (x *cidIndex) del(e *entry) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i := x.home(e.cid)
	for x.slots[i] != e {
		if x.slots[i] == nil {
			return
		}
		i = (i + 1) & mask
	}
	x.slots[i] = nil
	x.n--
	for j := (i + 1) & mask; x.slots[j] != nil; j = (j + 1) & mask {
		h := x.home(x.slots[j].cid)
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j]: then it would sit before its home.
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			x.slots[i], x.slots[j] = x.slots[j], nil
			i = j
		}
	}
	if x.n == 0 || (len(x.slots) > minIndexSlots && 8*x.n < len(x.slots)) {
		x.resize(max(minIndexSlots, len(x.slots)/2))
	}
}

// resize moves every entry to a table of size slots (a power of two), or
// drops the table once it is empty.
func (x *cidIndex) resize(size int) {
	old := x.slots
	if x.n == 0 && len(old) > 0 {
		x.slots = nil
		return
	}
	x.slots, x.n = make([]*entry, size), 0
	for _, e := range old {
		if e != nil {
			x.put(e)
		}
	}
}
