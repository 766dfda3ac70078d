package registry

import "hash/maphash"

// cidIndex finds an entry by its cid in about one probe, where the
// B-tree's search compared ~15 cids, each behind two pointers (the entry,
// then its cid's bytes): in the harness's bursts that search was most of
// a registration's time in the registry (issue 17, session 10). The
// B-tree stays for what needs the order (cursor pages, the sweep).
//
// It is an open-addressing table of entry pointers with linear probing,
// between 3/8 and 3/4 full once grown, and beside each slot a tag: 7 bits
// of the cid's hash, 0 for an empty slot. A probe reads the tags, a
// small array that stays in cache, and follows a slot's pointers only
// when its tag matches: each pointer is a cache miss on a busy loop
// (entry, then the cid's bytes), and a probe past an occupied slot or to
// an absent cid needed two (issue 17, session 18). 12 to 24 bytes a
// record, where a Go map of cid to entry holds a 16-byte string header
// and a pointer per slot (~40 bytes a record). Not safe for concurrent
// use: the registry's mu guards it.
type cidIndex struct {
	seed  maphash.Seed
	slots []*entry // len is a power of two, or 0
	tags  []uint8  // per slot: the tag of its entry's cid (hash), 0 when empty
	n     int
}

// minIndexSlots is the table's smallest size once it holds anything.
const minIndexSlots = 64

func newCIDIndex() cidIndex { return cidIndex{seed: maphash.MakeSeed()} }

// hash is cid's home slot and tag: the slot from the hash's low bits, the
// tag from its top 7, so that cids of one home still tell apart.
func (x *cidIndex) hash(cid string) (home int, tag uint8) {
	h := maphash.String(x.seed, cid)
	return int(h & uint64(len(x.slots)-1)), uint8(h>>57) | 0x80
}

// get returns cid's entry, or nil.
func (x *cidIndex) get(cid string) *entry {
	if x.n == 0 {
		return nil
	}
	mask := len(x.slots) - 1
	i, tag := x.hash(cid)
	for ; x.tags[i] != 0; i = (i + 1) & mask {
		if x.tags[i] == tag && x.slots[i].cid == cid {
			return x.slots[i]
		}
	}
	return nil
}

// put adds e, or puts it in place of the entry of the same cid.
func (x *cidIndex) put(e *entry) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.resize(max(minIndexSlots, 2*len(x.slots)))
	}
	mask := len(x.slots) - 1
	i, tag := x.hash(e.cid)
	for ; x.tags[i] != 0; i = (i + 1) & mask {
		if x.tags[i] == tag && x.slots[i].cid == e.cid {
			x.slots[i] = e
			return
		}
	}
	x.slots[i], x.tags[i] = e, tag
	x.n++
}

// del removes e, if it is the entry held for its cid. The entries after
// it in its run move back, so that no search stops short at the hole.
func (x *cidIndex) del(e *entry) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i, _ := x.hash(e.cid)
	for x.slots[i] != e {
		if x.tags[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	x.slots[i], x.tags[i] = nil, 0
	x.n--
	for j := (i + 1) & mask; x.tags[j] != 0; j = (j + 1) & mask {
		h, _ := x.hash(x.slots[j].cid)
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j]: then it would sit before its home.
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			x.slots[i], x.slots[j] = x.slots[j], nil
			x.tags[i], x.tags[j] = x.tags[j], 0
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
		x.slots, x.tags = nil, nil
		return
	}
	x.slots, x.tags, x.n = make([]*entry, size), make([]uint8, size), 0
	for _, e := range old {
		if e != nil {
			x.put(e)
		}
	}
}
