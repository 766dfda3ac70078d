package identity

import (
	"slices"
	"strings"
	"time"
)

// credTable holds every credential in memory, compactly: a server holds
// one per client it may ever see (tens of thousands), and a Credential
// with its pointers, its time.Time and a map entry of its own cost ~300 B
// of heap each. Here one costs a map slot (its client ID and a slot
// number), the client ID's bytes and a fixed 40-byte entry in one slab;
// the rare credential in a grace period keeps its previous digest in a
// side map. Not safe for concurrent use: the Service's mu guards it.
type credTable struct {
	slot    map[string]uint32 // client ID → index into entries
	entries []credEntry
	free    []uint32 // indexes of deleted entries, reused first
	grace   map[string]graceEntry
}

// credEntry is one credential's current digest and creation time.
type credEntry struct {
	digest  [32]byte
	created int64 // CreatedAt in Unix nanoseconds (UTC)
}

// graceEntry is the previous digest of a rotated credential, valid until.
type graceEntry struct {
	prev  [32]byte
	until time.Time
}

func newCredTable(n int) credTable {
	return credTable{slot: make(map[string]uint32, n), entries: make([]credEntry, 0, n),
		grace: make(map[string]graceEntry)}
}

// loadCredTable holds creds (a Load), their client IDs copied into one
// string: a small string apiece would cost its allocation's rounding and
// leave the load's garbage pinned around it. A deleted credential's bytes
// stay in that string until every client ID of the load is gone.
func loadCredTable(creds []Credential) credTable {
	t := newCredTable(len(creds))
	var b strings.Builder
	n := 0
	for i := range creds {
		n += len(creds[i].CID)
	}
	b.Grow(n)
	for i := range creds {
		b.WriteString(creds[i].CID)
	}
	arena, off := b.String(), 0
	for i := range creds {
		c := &creds[i]
		t.putAs(arena[off:off+len(c.CID)], c)
		off += len(c.CID)
	}
	return t
}

func (t *credTable) len() int { return len(t.slot) }

// graced is how many credentials have a previous digest.
func (t *credTable) graced() int { return len(t.grace) }

// put holds c, replacing cid's credential if it had one.
func (t *credTable) put(c *Credential) { t.putAs(c.CID, c) }

// putAs is put with cid (equal to c.CID) as the key string to keep.
func (t *credTable) putAs(cid string, c *Credential) {
	e := credEntry{digest: c.Digest, created: c.CreatedAt.UnixNano()}
	if i, ok := t.slot[cid]; ok {
		t.entries[i] = e
	} else {
		t.slot[cid] = t.alloc(e)
	}
	if c.Previous != nil && c.PreviousValidUntil != nil {
		t.grace[cid] = graceEntry{prev: *c.Previous, until: *c.PreviousValidUntil}
	} else {
		delete(t.grace, cid)
	}
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

// delete forgets cid's credential; false when there was none.
func (t *credTable) delete(cid string) bool {
	i, ok := t.slot[cid]
	if !ok {
		return false
	}
	delete(t.slot, cid)
	delete(t.grace, cid)
	t.entries[i] = credEntry{} // no digest outlives its credential
	t.free = append(t.free, i)
	return true
}

// get is cid's credential (a copy).
func (t *credTable) get(cid string) (Credential, bool) {
	i, ok := t.slot[cid]
	if !ok {
		return Credential{}, false
	}
	return t.credential(cid, i), true
}

func (t *credTable) credential(cid string, i uint32) Credential {
	e := &t.entries[i]
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
	i, present := t.slot[cid]
	if !present {
		return false, false
	}
	ok = secret != nil && equal(&t.entries[i].digest, secret)
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
	cids := make([]string, 0, min(len(t.slot), max(limit, 0)+1))
	for cid := range t.slot {
		if cid > after {
			cids = append(cids, cid)
		}
	}
	slices.SortFunc(cids, strings.Compare)
	more := len(cids) > limit
	cids = cids[:max(min(len(cids), limit), 0)]
	out := make([]Credential, len(cids))
	for i, cid := range cids {
		out[i] = t.credential(cid, t.slot[cid])
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
	out := make([]string, 0, len(t.slot))
	for cid := range t.slot {
		out = append(out, cid)
	}
	return out
}
