package identity

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"

	"github.com/cliser/cliser/internal/offheap"
)

// The credential table's index: open addressing with linear probing over
// 4-byte slots, each a record's offset + 1 and a tag of its client ID's
// hash (slotTag), at most 3/4 full. Deletion moves entries back rather
// than leave tombstones (unslot). The records themselves are
// credtable.go's.

// minIndex is the smallest index in slots; it doubles whenever 3/4 full.
const minIndex = 16

// slotsFor is the smallest index that holds n credentials at most 3/4
// full. Not a power of two: at 19,000 that is 25,334 slots where the
// next power of two had 32,768 (1.6 B a credential).
func slotsFor(n int) int { return max(minIndex, (4*n+2)/3) }

// full reports whether one more credential would take the index past 3/4.
func (t *credTable) full() bool { return (t.n+1)*4 > t.slots()*3 }

func (t *credTable) slots() int { return len(t.index) / 4 }

func (t *credTable) slot(i int) uint32 { return binary.LittleEndian.Uint32(t.index[i*4:]) }

func (t *credTable) setSlot(i int, v uint32) { binary.LittleEndian.PutUint32(t.index[i*4:], v) }

// slotTag: a slot holds its record's offset + 1 in its low offBits bits
// and, in the bits above (11 or 12 at the bench's 19,000 credentials), those of
// the record's client ID's hash. A probe reads a record (a cache miss on
// a busy loop) only where the tag matches: at 3/4 full a held ID's probe
// passed ~1.5 other records on the way (issue 17). The records' offsets
// set how many bits are left: none past 2 GiB of records, and then every
// record is read, as before.
func (t *credTable) slotTag(h uint64) uint32 { return uint32(h) << t.offBits }

// offOf is the record's offset in slot value v (not 0).
func (t *credTable) offOf(v uint32) uint32 { return v&(1<<t.offBits-1) - 1 }

// offBitsFor is how many bits hold a record's offset + 1 for records of
// up to size bytes.
func offBitsFor(size int) uint { return uint(bits.Len(uint(size))) }

// home is the slot a hash wants: its high bits scaled to the index.
func (t *credTable) home(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(t.slots()))
	return int(hi)
}

// next is the slot after i, the last wrapping to the first.
func (t *credTable) next(i int) int {
	if i++; i == t.slots() {
		return 0
	}
	return i
}

// find is the index slot holding cid, or the empty slot where it would go
// (found false).
func (t *credTable) find(cid string) (slot int, found bool) {
	h := maphash.String(t.seed, cid)
	tag, tags := t.slotTag(h), ^uint32(1<<t.offBits-1)
	for i := t.home(h); ; i = t.next(i) {
		v := t.slot(i)
		if v == 0 {
			return i, false
		}
		if v&tags == tag && string(t.nameOf(t.offOf(v))) == cid {
			return i, true
		}
	}
}

// grow doubles the index.
func (t *credTable) grow() { t.reindex(t.slots() * 2) }

// reindex places every live record again in a new index of slots slots,
// its slots' tags as wide as the records' region leaves them.
func (t *credTable) reindex(slots int) {
	m := offheap.New(slots * 4)
	t.idxMem.Release()
	t.idxMem, t.index = m, m.Bytes()[:slots*4]
	t.offBits = offBitsFor(cap(t.recs))
	for off := 0; off < len(t.recs); off += t.recSize(uint32(off)) {
		if t.recs[off+recLen]&deadBit != 0 {
			continue
		}
		h := maphash.Bytes(t.seed, t.nameOf(uint32(off)))
		j := t.home(h)
		for t.slot(j) != 0 {
			j = t.next(j)
		}
		t.setSlot(j, t.slotTag(h)|(uint32(off)+1))
	}
}

// homeOf is the slot the record at off wants.
func (t *credTable) homeOf(off uint32) int { return t.home(maphash.Bytes(t.seed, t.nameOf(off))) }

// fit shrinks the index to the smallest that holds what the table has:
// a Load streamed through put grew it by doubling.
func (t *credTable) fit() {
	if slots := slotsFor(t.n); slots < t.slots() {
		t.reindex(slots)
	}
}

// unslot empties an index slot and moves back the entries after it that
// could not sit where they wanted (linear probing's deletion without
// tombstones): each entry stays reachable from its home slot.
func (t *credTable) unslot(hole int) {
	for j := t.next(hole); t.slot(j) != 0; j = t.next(j) {
		home := t.homeOf(t.offOf(t.slot(j)))
		// The entry at j may move to hole unless its home lies
		// cyclically within (hole, j].
		if (hole < j && hole < home && home <= j) || (hole > j && (home > hole || home <= j)) {
			continue
		}
		t.setSlot(hole, t.slot(j))
		hole = j
	}
	t.setSlot(hole, 0)
}
