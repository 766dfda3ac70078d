package identity

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"hash/maphash"
	"math"
	"slices"
	"time"

	"github.com/cliser/cliser/internal/offheap"
)

// credTable holds every credential in memory, compactly: a server holds
// one per client it may ever see (tens of thousands), and a Credential
// with its pointers, its time.Time, its own string and a map entry cost
// ~300 B of heap apiece. Here one costs a record of 21 bytes and its
// client ID's, one after another in one byte region, and a 4-byte slot
// of an index (credindex.go); the rare credential in a grace period
// keeps its previous digest in a side map. Both the records and the
// index are regions outside the Go heap (internal/offheap), sized exactly
// at a Load. A digest is held as its first heldDigest bytes only (the
// store keeps it whole): see heldDigest.
// Not safe for concurrent use: the Service's mu guards it.
type credTable struct {
	seed    maphash.Seed
	index   []byte // 4-byte slots: 0 empty, else a tag and a record's offset + 1 (slotTag)
	offBits uint   // a slot's low bits that hold offset + 1: enough for cap(recs)
	recs    []byte // the records; cap is the region's size
	idxMem  *offheap.Region
	recsMem *offheap.Region
	dead    int // bytes of recs that deleted credentials' records still take
	n       int // credentials held
	grace   map[string]graceEntry
}

// A record: its client ID's length (the dead bit set once deleted), the
// creation time in whole Unix seconds (the API shows whole seconds), the
// current digest's first heldDigest bytes, and the client ID (1 to
// protocol.MaxClientID = 64 bytes).
const (
	recLen     = 0
	recCreated = 1
	recDigest  = 5
	recName    = recDigest + heldDigest
	deadBit    = 0x80
)

// heldDigest is how much of a SHA-256 digest the table holds: 128 bits.
// A handshake passes when the SHA-256 of what it sent starts with these
// bytes. The secret is 256 random bits; passing without it takes a
// second preimage of 128 bits (~2^128 hashes, the digest known or not),
// and the birthday bound (2^64) does not apply: the target is fixed, not
// any pair. The store keeps all 32 bytes (IDENTITY.md).
const heldDigest = 16

// graceEntry is the previous digest (its held part) of a rotated
// credential, valid until.
type graceEntry struct {
	prev  [heldDigest]byte
	until time.Time
}

// newCredTable holds nothing yet, with room for n credentials of
// nameBytes bytes of client IDs in all.
func newCredTable(n, nameBytes int) credTable {
	t := credTable{seed: maphash.MakeSeed(), grace: make(map[string]graceEntry)}
	t.idxMem = offheap.New(slotsFor(n) * 4)
	t.index = t.idxMem.Bytes()[:slotsFor(n)*4]
	t.recsMem = offheap.New(n*recName + nameBytes)
	t.recs = t.recsMem.Bytes()[:0]
	t.offBits = offBitsFor(cap(t.recs))
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
	t.idxMem.Release()
	t.recsMem.Release()
	t.index, t.recs, t.idxMem, t.recsMem = nil, nil, nil, nil
}

func (t *credTable) len() int { return t.n }

// bytes is what the table's records and index take once written: the
// RSS it costs (a region's pages past its records are never touched).
func (t *credTable) bytes() int { return len(t.recs) + len(t.index) }

// resident is the table's regions' bytes in memory: bytes rounded up to
// their pages, the room a region keeps for growth costing nothing until
// written (TestCredTableResidentIsItsBytes).
func (t *credTable) resident() (int, error) {
	idx, err := t.idxMem.Resident()
	if err != nil {
		return 0, err
	}
	recs, err := t.recsMem.Resident()
	return idx + recs, err
}

// graced is how many credentials have a previous digest.
func (t *credTable) graced() int { return len(t.grace) }

// nameOf is the client ID of the record at off.
func (t *credTable) nameOf(off uint32) []byte {
	n := uint32(t.recs[off+recLen] &^ deadBit)
	return t.recs[off+recName : off+recName+n]
}

func (t *credTable) digestOf(off uint32) *[heldDigest]byte {
	return (*[heldDigest]byte)(t.recs[off+recDigest : off+recName])
}

func (t *credTable) createdOf(off uint32) time.Time {
	return time.Unix(int64(binary.LittleEndian.Uint32(t.recs[off+recCreated:])), 0).UTC()
}

// heldOf is the part of d the table holds.
func heldOf(d *[32]byte) [heldDigest]byte { return [heldDigest]byte(d[:heldDigest]) }

// unixSeconds is at as whole Unix seconds in 4 bytes (1970 to 2106):
// the API shows created_at to the second, and an enrollment is now.
func unixSeconds(at time.Time) uint32 {
	return uint32(min(max(at.Unix(), 0), math.MaxUint32))
}

// recSize is the size of the record at off.
func (t *credTable) recSize(off uint32) int {
	return recName + int(t.recs[off+recLen]&^deadBit)
}

// record is the offset of cid's record.
func (t *credTable) record(cid string) (uint32, bool) {
	if slot, ok := t.find(cid); ok {
		return t.offOf(t.slot(slot)), true
	}
	return 0, false
}

// put holds c, replacing cid's credential if it had one.
func (t *credTable) put(c *Credential) {
	if c.Previous != nil && c.PreviousValidUntil != nil {
		t.grace[c.CID] = graceEntry{prev: heldOf(c.Previous), until: *c.PreviousValidUntil}
	} else {
		delete(t.grace, c.CID)
	}
	off, ok := t.record(c.CID)
	if !ok {
		if t.full() {
			t.grow()
		}
		off = t.appendRecord(c.CID)
		slot, _ := t.find(c.CID)
		t.setSlot(slot, t.slotTag(maphash.String(t.seed, c.CID))|(off+1))
		t.n++
	}
	binary.LittleEndian.PutUint32(t.recs[off+recCreated:], unixSeconds(c.CreatedAt))
	*t.digestOf(off) = heldOf(&c.Digest)
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

// moveRecords copies the records into a new region of size bytes; the
// index again when its offsets need another bit.
func (t *credTable) moveRecords(size int) {
	m := offheap.New(size)
	recs := m.Bytes()[:len(t.recs)]
	copy(recs, t.recs)
	t.recsMem.Release()
	t.recs, t.recsMem = recs, m
	if offBitsFor(cap(recs)) != t.offBits {
		t.reindex(t.slots())
	}
}

// delete forgets cid's credential; false when there was none.
func (t *credTable) delete(cid string) bool {
	slot, ok := t.find(cid)
	if !ok {
		return false
	}
	off := t.offOf(t.slot(slot))
	t.dead += t.recSize(off)
	*t.digestOf(off) = [heldDigest]byte{} // no digest outlives its credential
	t.recs[off+recLen] |= deadBit
	t.n--
	delete(t.grace, cid)
	t.unslot(slot)
	if t.dead > 4096 && t.dead > len(t.recs)/2 {
		t.compact()
	}
	return true
}

// compact copies the live records into a region of their size, and
// indexes them again (their offsets moved).
func (t *credTable) compact() {
	m := offheap.New(len(t.recs) - t.dead)
	recs := m.Bytes()[:0]
	for off := 0; off < len(t.recs); off += t.recSize(uint32(off)) {
		if t.recs[off+recLen]&deadBit == 0 {
			recs = append(recs, t.recs[off:off+t.recSize(uint32(off))]...)
		}
	}
	t.recsMem.Release()
	t.recs, t.recsMem, t.dead = recs, m, 0
	t.reindex(t.slots())
}

// get is cid's credential as held: no digest (see credential).
func (t *credTable) get(cid string) (Credential, bool) {
	off, ok := t.record(cid)
	if !ok {
		return Credential{}, false
	}
	return t.credential(cid, off), true
}

// credential is what the table holds of cid's credential: its client
// ID, its creation to the second and the end of its grace period; not
// its digests, of which it holds a part (the store has them whole).
func (t *credTable) credential(cid string, off uint32) Credential {
	c := Credential{CID: cid, CreatedAt: t.createdOf(off)}
	if g, ok := t.grace[cid]; ok {
		until := g.until
		c.PreviousValidUntil = &until
	}
	return c
}

// heldDigestOf is the part of cid's current digest the table holds.
func (t *credTable) heldDigestOf(cid string) ([heldDigest]byte, bool) {
	off, ok := t.record(cid)
	if !ok {
		return [heldDigest]byte{}, false
	}
	return *t.digestOf(off), true
}

// matches reports whether secret is cid's current secret or, while its
// grace runs, its previous one; present is false when cid has no
// credential. Every digest cid has is compared, in constant time.
func (t *credTable) matches(cid string, secret *[32]byte, now time.Time) (ok, present bool) {
	off, found := t.record(cid)
	if !found {
		return false, false
	}
	ok = secret != nil && heldEqual(t.digestOf(off), secret)
	if len(t.grace) == 0 || secret == nil {
		return ok, true
	}
	if g, graced := t.grace[cid]; graced {
		prev := heldEqual(&g.prev, secret)
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
func (t *credTable) page(after, prefix string, limit int) ([]Credential, bool) {
	var at []uint32
	t.live(func(off uint32) {
		if name := t.nameOf(off); string(name) > after && bytes.HasPrefix(name, []byte(prefix)) {
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

// heldEqual compares a held digest with the start of d in constant time.
func heldEqual(held *[heldDigest]byte, d *[32]byte) bool {
	return subtle.ConstantTimeCompare(held[:], d[:heldDigest]) == 1
}
