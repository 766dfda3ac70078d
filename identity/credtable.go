package identity

import (
	"bytes"
	"hash/maphash"
	"slices"
	"time"
)

// credTable holds every credential in memory, compactly: a server holds
// one per client it may ever see (tens of thousands), and a Credential
// with its pointers, its time.Time, its own string and a map entry cost
// ~300 B of heap apiece. Here one costs a 48-byte entry in one slab, its
// client ID's bytes in one byte slice, and a 4-byte slot of an index
// (open addressing, linear probing, at most 3/4 full); the rare
// credential in a grace period keeps its previous digest in a side map.
// None of the three big slices holds a pointer, so the GC never scans
// them. Not safe for concurrent use: the Service's mu guards it.
type credTable struct {
	seed    maphash.Seed
	index   []uint32 // 0: empty; else entries' index + 1. Its length is a power of two.
	entries []credEntry
	free    []uint32 // entries of deleted credentials, reused first
	names   []byte   // the client IDs, one after another
	dead    int      // bytes of names no entry uses any more
	n       int      // credentials held
	grace   map[string]graceEntry
}

// credEntry is one credential: its current digest, its creation time and
// where its client ID is in names. nameLen 0 marks a free entry (a client
// ID is 1 to protocol.MaxClientID = 64 bytes).
type credEntry struct {
	digest  [32]byte
	created int64 // CreatedAt in Unix nanoseconds (UTC)
	name    uint32
	nameLen uint8
}

// graceEntry is the previous digest of a rotated credential, valid until.
type graceEntry struct {
	prev  [32]byte
	until time.Time
}

// minIndex is the smallest index; it doubles whenever 3/4 full.
const minIndex = 16

func newCredTable(n int) credTable {
	size := minIndex
	for size*3/4 < n {
		size *= 2
	}
	return credTable{seed: maphash.MakeSeed(), index: make([]uint32, size),
		entries: make([]credEntry, 0, n), grace: make(map[string]graceEntry)}
}

// loadCredTable holds creds (a Load).
func loadCredTable(creds []Credential) credTable {
	t := newCredTable(len(creds))
	size := 0
	for i := range creds {
		size += len(creds[i].CID)
	}
	t.names = make([]byte, 0, size)
	for i := range creds {
		t.put(&creds[i])
	}
	return t
}

func (t *credTable) len() int { return t.n }

// graced is how many credentials have a previous digest.
func (t *credTable) graced() int { return len(t.grace) }

func (t *credTable) nameOf(e *credEntry) []byte {
	return t.names[e.name : e.name+uint32(e.nameLen)]
}

func (t *credTable) home(cid []byte) int {
	return int(maphash.Bytes(t.seed, cid) & uint64(len(t.index)-1))
}

// find is the index slot holding cid, or the empty slot where it would go
// (found false).
func (t *credTable) find(cid string) (slot int, found bool) {
	mask := len(t.index) - 1
	for i := int(maphash.String(t.seed, cid)) & mask; ; i = (i + 1) & mask {
		v := t.index[i]
		if v == 0 {
			return i, false
		}
		if string(t.nameOf(&t.entries[v-1])) == cid {
			return i, true
		}
	}
}

// entry is cid's entry, or nil.
func (t *credTable) entry(cid string) *credEntry {
	if slot, ok := t.find(cid); ok {
		return &t.entries[t.index[slot]-1]
	}
	return nil
}

// put holds c, replacing cid's credential if it had one.
func (t *credTable) put(c *Credential) {
	if c.Previous != nil && c.PreviousValidUntil != nil {
		t.grace[c.CID] = graceEntry{prev: *c.Previous, until: *c.PreviousValidUntil}
	} else {
		delete(t.grace, c.CID)
	}
	if e := t.entry(c.CID); e != nil {
		e.digest, e.created = c.Digest, c.CreatedAt.UnixNano()
		return
	}
	if (t.n+1)*4 > len(t.index)*3 {
		t.grow()
	}
	e := credEntry{digest: c.Digest, created: c.CreatedAt.UnixNano(), name: uint32(len(t.names)), nameLen: uint8(len(c.CID))}
	t.names = append(t.names, c.CID...)
	slot, _ := t.find(c.CID)
	t.index[slot] = t.alloc(e) + 1
	t.n++
}

func (t *credTable) alloc(e credEntry) uint32 {
	if n := len(t.free); n > 0 {
		i := t.free[n-1]
		t.free = t.free[:n-1]
		t.entries[i] = e
		return i
	}
	t.entries = append(t.entries, e)
	return uint32(len(t.entries) - 1)
}

// grow doubles the index and places every entry again.
func (t *credTable) grow() {
	t.index = make([]uint32, len(t.index)*2)
	mask := len(t.index) - 1
	for i := range t.entries {
		e := &t.entries[i]
		if e.nameLen == 0 {
			continue
		}
		j := t.home(t.nameOf(e))
		for t.index[j] != 0 {
			j = (j + 1) & mask
		}
		t.index[j] = uint32(i) + 1
	}
}

// delete forgets cid's credential; false when there was none.
func (t *credTable) delete(cid string) bool {
	slot, ok := t.find(cid)
	if !ok {
		return false
	}
	i := t.index[slot] - 1
	t.dead += int(t.entries[i].nameLen)
	t.entries[i] = credEntry{} // no digest outlives its credential
	t.free = append(t.free, i)
	t.n--
	delete(t.grace, cid)
	t.unslot(slot)
	if t.dead > 4096 && t.dead > len(t.names)/2 {
		t.compactNames()
	}
	return true
}

// unslot empties an index slot and moves back the entries after it that
// could not sit where they wanted (linear probing's deletion without
// tombstones): each entry stays reachable from its home slot.
func (t *credTable) unslot(hole int) {
	mask := len(t.index) - 1
	for j := (hole + 1) & mask; t.index[j] != 0; j = (j + 1) & mask {
		home := t.home(t.nameOf(&t.entries[t.index[j]-1]))
		// The entry at j may move to hole unless its home lies
		// cyclically within (hole, j].
		if (hole < j && hole < home && home <= j) || (hole > j && (home > hole || home <= j)) {
			continue
		}
		t.index[hole] = t.index[j]
		hole = j
	}
	t.index[hole] = 0
}

// compactNames copies the client IDs still held into a new names.
func (t *credTable) compactNames() {
	names := make([]byte, 0, len(t.names)-t.dead)
	for i := range t.entries {
		e := &t.entries[i]
		if e.nameLen == 0 {
			continue
		}
		at := uint32(len(names))
		names = append(names, t.nameOf(e)...)
		e.name = at
	}
	t.names, t.dead = names, 0
}

// get is cid's credential (a copy).
func (t *credTable) get(cid string) (Credential, bool) {
	e := t.entry(cid)
	if e == nil {
		return Credential{}, false
	}
	return t.credential(cid, e), true
}

func (t *credTable) credential(cid string, e *credEntry) Credential {
	c := Credential{CID: cid, Digest: e.digest, CreatedAt: time.Unix(0, e.created).UTC()}
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
	e := t.entry(cid)
	if e == nil {
		return false, false
	}
	ok = secret != nil && equal(&e.digest, secret)
	if len(t.grace) == 0 || secret == nil {
		return ok, true
	}
	if g, graced := t.grace[cid]; graced {
		prev := equal(&g.prev, secret)
		ok = ok || (prev && now.Before(g.until))
	}
	return ok, true
}

// page is up to limit credentials whose client IDs sort after after, in
// client-ID order, and whether more follow.
func (t *credTable) page(after string, limit int) ([]Credential, bool) {
	var at []uint32
	for i := range t.entries {
		if e := &t.entries[i]; e.nameLen != 0 && string(t.nameOf(e)) > after {
			at = append(at, uint32(i))
		}
	}
	slices.SortFunc(at, func(a, b uint32) int {
		return bytes.Compare(t.nameOf(&t.entries[a]), t.nameOf(&t.entries[b]))
	})
	limit = max(limit, 0)
	more := len(at) > limit
	at = at[:min(len(at), limit)]
	out := make([]Credential, len(at))
	for k, i := range at {
		e := &t.entries[i]
		out[k] = t.credential(string(t.nameOf(e)), e)
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
	for i := range t.entries {
		if e := &t.entries[i]; e.nameLen != 0 {
			out = append(out, string(t.nameOf(e)))
		}
	}
	return out
}
