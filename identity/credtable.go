package identity

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"time"
)

// credTable holds every credential in memory, compactly: a server holds
// one per client it may ever see (tens of thousands), and a Credential
// with its pointers, its time.Time, its own string and a map entry cost
// ~300 B of heap apiece. Here one costs a record of 41 bytes and its
// client ID's, one after another in one byte region, and a 4-byte slot
// of an index (open addressing, linear probing, at most 3/4 full); the
// rare credential in a grace period keeps its previous digest in a side
// map. Both the records and the index are regions outside the Go heap
// (region.go), sized exactly at a Load. Not safe for concurrent use: the
// Service's mu guards it.
type credTable struct {
	seed    maphash.Seed
	index   []byte // 4-byte slots: 0 empty, else a record's offset + 1. Their count is a power of two.
	recs    []byte // the records; cap is the region's size
	idxMem  *region
	recsMem *region
	dead    int // bytes of recs that deleted credentials' records still take
	n       int // credentials held
	grace   map[string]graceEntry
}

// A record: its client ID's length (the dead bit set once deleted), the
// creation time in Unix nanoseconds (UTC), the current digest, and the
// client ID (1 to protocol.MaxClientID = 64 bytes).
const (
	recLen     = 0
	recCreated = 1
	recDigest  = 9
	recName    = 41
	deadBit    = 0x80
)

// graceEntry is the previous digest of a rotated credential, valid until.
type graceEntry struct {
	prev  [32]byte
	until time.Time
}

// minIndex is the smallest index in slots; it doubles whenever 3/4 full.
const minIndex = 16

// slotsFor is the index size that holds n credentials at most 3/4 full.
func slotsFor(n int) int {
	size := minIndex
	for size*3/4 < n {
		size *= 2
	}
	return size
}

// newCredTable holds nothing yet, with room for n credentials of
// nameBytes bytes of client IDs in all.
func newCredTable(n, nameBytes int) credTable {
	t := credTable{seed: maphash.MakeSeed(), grace: make(map[string]graceEntry)}
	t.idxMem = newRegion(slotsFor(n) * 4)
	t.index = t.idxMem.b[:slotsFor(n)*4]
	t.recsMem = newRegion(n*recName + nameBytes)
	t.recs = t.recsMem.b[:0]
	return t
}

// loadCredTable holds creds (a Load).
func loadCredTable(creds []Credential) credTable {
	size := 0
	for i := range creds {
		size += len(creds[i].CID)
	}
	t := newCredTable(len(creds), size)
	for i := range creds {
		t.put(&creds[i])
	}
	return t
}

// release gives the table's regions back; it must not be used after.
func (t *credTable) release() {
	t.idxMem.release()
	t.recsMem.release()
	t.index, t.recs, t.idxMem, t.recsMem = nil, nil, nil, nil
}

func (t *credTable) len() int { return t.n }

// bytes is what the table's records and index take once written: the
// RSS it costs (a region's pages past its records are never touched).
func (t *credTable) bytes() int { return len(t.recs) + len(t.index) }

// graced is how many credentials have a previous digest.
func (t *credTable) graced() int { return len(t.grace) }

func (t *credTable) slots() int { return len(t.index) / 4 }

func (t *credTable) slot(i int) uint32 { return binary.LittleEndian.Uint32(t.index[i*4:]) }

func (t *credTable) setSlot(i int, v uint32) { binary.LittleEndian.PutUint32(t.index[i*4:], v) }

// nameOf is the client ID of the record at off.
func (t *credTable) nameOf(off uint32) []byte {
	n := uint32(t.recs[off+recLen] &^ deadBit)
	return t.recs[off+recName : off+recName+n]
}

func (t *credTable) digestOf(off uint32) *[32]byte {
	return (*[32]byte)(t.recs[off+recDigest : off+recName])
}

func (t *credTable) createdOf(off uint32) time.Time {
	return time.Unix(0, int64(binary.LittleEndian.Uint64(t.recs[off+recCreated:]))).UTC()
}

// recSize is the size of the record at off.
func (t *credTable) recSize(off uint32) int {
	return recName + int(t.recs[off+recLen]&^deadBit)
}

func (t *credTable) home(cid []byte) int {
	return int(maphash.Bytes(t.seed, cid) & uint64(t.slots()-1))
}

// find is the index slot holding cid, or the empty slot where it would go
// (found false).
func (t *credTable) find(cid string) (slot int, found bool) {
	mask := t.slots() - 1
	for i := int(maphash.String(t.seed, cid)) & mask; ; i = (i + 1) & mask {
		v := t.slot(i)
		if v == 0 {
			return i, false
		}
		if string(t.nameOf(v-1)) == cid {
			return i, true
		}
	}
}

// record is the offset of cid's record.
func (t *credTable) record(cid string) (uint32, bool) {
	if slot, ok := t.find(cid); ok {
		return t.slot(slot) - 1, true
	}
	return 0, false
}

// put holds c, replacing cid's credential if it had one.
func (t *credTable) put(c *Credential) {
	if c.Previous != nil && c.PreviousValidUntil != nil {
		t.grace[c.CID] = graceEntry{prev: *c.Previous, until: *c.PreviousValidUntil}
	} else {
		delete(t.grace, c.CID)
	}
	off, ok := t.record(c.CID)
	if !ok {
		if (t.n+1)*4 > t.slots()*3 {
			t.grow()
		}
		off = t.appendRecord(c.CID)
		slot, _ := t.find(c.CID)
		t.setSlot(slot, off+1)
		t.n++
	}
	binary.LittleEndian.PutUint64(t.recs[off+recCreated:], uint64(c.CreatedAt.UnixNano()))
	*t.digestOf(off) = c.Digest
}

// appendRecord adds cid's record, its time and digest zero, and is its
// offset. A full region is replaced by one twice its size: the pages
// past the records are not touched, so they cost no RSS until used.
func (t *credTable) appendRecord(cid string) uint32 {
	off := len(t.recs)
	need := off + recName + len(cid)
	if need > cap(t.recs) {
		t.moveRecords(max(2*cap(t.recs), need))
	}
	t.recs = t.recs[:need]
	t.recs[off+recLen] = byte(len(cid))
	copy(t.recs[off+recName:], cid)
	return uint32(off)
}

// moveRecords copies the records into a new region of size bytes.
func (t *credTable) moveRecords(size int) {
	m := newRegion(size)
	recs := m.b[:len(t.recs)]
	copy(recs, t.recs)
	t.recsMem.release()
	t.recs, t.recsMem = recs, m
}

// grow doubles the index.
func (t *credTable) grow() { t.reindex(t.slots() * 2) }

// reindex places every live record again in a new index of slots slots.
func (t *credTable) reindex(slots int) {
	m := newRegion(slots * 4)
	t.idxMem.release()
	t.idxMem, t.index = m, m.b[:slots*4]
	mask := slots - 1
	for off := 0; off < len(t.recs); off += t.recSize(uint32(off)) {
		if t.recs[off+recLen]&deadBit != 0 {
			continue
		}
		j := t.home(t.nameOf(uint32(off)))
		for t.slot(j) != 0 {
			j = (j + 1) & mask
		}
		t.setSlot(j, uint32(off)+1)
	}
}

// delete forgets cid's credential; false when there was none.
func (t *credTable) delete(cid string) bool {
	slot, ok := t.find(cid)
	if !ok {
		return false
	}
	off := t.slot(slot) - 1
	t.dead += t.recSize(off)
	*t.digestOf(off) = [32]byte{} // no digest outlives its credential
	t.recs[off+recLen] |= deadBit
	t.n--
	delete(t.grace, cid)
	t.unslot(slot)
	if t.dead > 4096 && t.dead > len(t.recs)/2 {
		t.compact()
	}
	return true
}

// unslot empties an index slot and moves back the entries after it that
// could not sit where they wanted (linear probing's deletion without
// tombstones): each entry stays reachable from its home slot.
func (t *credTable) unslot(hole int) {
	mask := t.slots() - 1
	for j := (hole + 1) & mask; t.slot(j) != 0; j = (j + 1) & mask {
		home := t.home(t.nameOf(t.slot(j) - 1))
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

// compact copies the live records into a region of their size, and
// indexes them again (their offsets moved).
func (t *credTable) compact() {
	m := newRegion(len(t.recs) - t.dead)
	recs := m.b[:0]
	for off := 0; off < len(t.recs); off += t.recSize(uint32(off)) {
		if t.recs[off+recLen]&deadBit == 0 {
			recs = append(recs, t.recs[off:off+t.recSize(uint32(off))]...)
		}
	}
	t.recsMem.release()
	t.recs, t.recsMem, t.dead = recs, m, 0
	t.reindex(t.slots())
}

// get is cid's credential (a copy).
func (t *credTable) get(cid string) (Credential, bool) {
	off, ok := t.record(cid)
	if !ok {
		return Credential{}, false
	}
	return t.credential(cid, off), true
}

func (t *credTable) credential(cid string, off uint32) Credential {
	c := Credential{CID: cid, Digest: *t.digestOf(off), CreatedAt: t.createdOf(off)}
	if g, ok := t.grace[cid]; ok {
		prev, until := g.prev, g.until
		c.Previous, c.PreviousValidUntil = &prev, &until
	}
	return c
}

// matches reports whether secret is cid's current secret or, while its
// grace runs, its previous one; present is false when cid has no
// credential. Every digest cid has is compared, in constant time.
func (t *credTable) matches(cid string, secret *[32]byte, now time.Time) (ok, present bool) {
	off, found := t.record(cid)
	if !found {
		return false, false
	}
	ok = secret != nil && equal(t.digestOf(off), secret)
	if len(t.grace) == 0 || secret == nil {
		return ok, true
	}
	if g, graced := t.grace[cid]; graced {
		prev := equal(&g.prev, secret)
		ok = ok || (prev && now.Before(g.until))
	}
	return ok, true
}

// live calls f with the offset of every live record, in storage order.
func (t *credTable) live(f func(off uint32)) {
	for off := 0; off < len(t.recs); off += t.recSize(uint32(off)) {
		if t.recs[off+recLen]&deadBit == 0 {
			f(uint32(off))
		}
	}
}

// page is up to limit credentials whose client IDs sort after after, in
// client-ID order, and whether more follow.
func (t *credTable) page(after string, limit int) ([]Credential, bool) {
	var at []uint32
	t.live(func(off uint32) {
		if string(t.nameOf(off)) > after {
			at = append(at, off)
		}
	})
	slices.SortFunc(at, func(a, b uint32) int { return bytes.Compare(t.nameOf(a), t.nameOf(b)) })
	limit = max(limit, 0)
	more := len(at) > limit
	at = at[:min(len(at), limit)]
	out := make([]Credential, len(at))
	for k, off := range at {
		out[k] = t.credential(string(t.nameOf(off)), off)
	}
	return out, more
}

// ended is the client IDs whose grace period has run out at now.
func (t *credTable) ended(now time.Time) []string {
	var out []string
	for cid, g := range t.grace {
		if !now.Before(g.until) {
			out = append(out, cid)
		}
	}
	return out
}

// endGrace drops cid's previous digest.
func (t *credTable) endGrace(cid string) { delete(t.grace, cid) }

// cids is every client ID held.
func (t *credTable) cids() []string {
	out := make([]string, 0, t.n)
	t.live(func(off uint32) { out = append(out, string(t.nameOf(off))) })
	return out
}
