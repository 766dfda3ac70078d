package events

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"sync"
)

// cidIndex finds each client's events without scanning the log: history
// and ?cid= walk it. It is built when the log opens, from the events
// themselves, and kept by the writer.
//
// In memory and not a bucket of the file: an on-disk index by client ID is
// a random insert per event into a B+tree (19,000 clients reconnecting
// touch 19,000 places of it), which measured as four tenths of the
// writer's CPU and a third of the file. It is a chain per client: the
// client's newest seq in a map, and for every retained event the distance
// back to the same client's event before it (4 bytes, in seq order, so
// the seq itself is not stored). That is 4 bytes per retained event (4 MB
// at the default 1,000,000) and one map entry per client in the log; a
// slice of seqs per client was 8 bytes an event and a slice header and
// allocation per client, about 80 bytes a client.
type cidIndex struct {
	mu   sync.RWMutex
	head map[string]uint64 // each client's newest seq
	base uint64            // the seq of back[0]
	back []uint32          // seq base+i: how far back the same client's previous event is; 0 for none
}

func newCIDIndex() *cidIndex { return &cidIndex{head: make(map[string]uint64)} }

// add indexes seq, of cid ("" for an event of no client). Seqs come in
// order; a gap (seqs that never were, none in a log we wrote) is filled.
func (x *cidIndex) add(cid string, seq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.back) == 0 {
		x.base = seq
	}
	if seq < x.base+uint64(len(x.back)) {
		return // not in order: cannot be, ignored rather than corrupting the chains
	}
	for x.base+uint64(len(x.back)) < seq {
		x.back = append(x.back, 0)
	}
	var d uint32
	if cid != "" {
		if h, ok := x.head[cid]; ok && h >= x.base && seq-h <= math.MaxUint32 {
			d = uint32(seq - h)
		}
		x.head[cid] = seq
	}
	x.back = append(x.back, d)
}

// drop forgets the events before oldest; cids are the clients of the
// forgotten events (those whose newest event it was leave the map).
func (x *cidIndex) drop(oldest uint64, cids map[string]struct{}) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for cid := range cids {
		if h, ok := x.head[cid]; ok && h < oldest {
			delete(x.head, cid)
		}
	}
	if oldest <= x.base {
		return
	}
	i := oldest - x.base
	if i >= uint64(len(x.back)) {
		x.back, x.base = x.back[:0], oldest
		return
	}
	x.back, x.base = x.back[i:], oldest
	if cap(x.back) > 2*len(x.back)+1024 {
		x.back = append([]uint32(nil), x.back...) // let the dropped head go
	}
}

// walk calls f with cid's seqs, newest first, until f returns false or
// the chain reaches the oldest event indexed. x.mu must be held.
func (x *cidIndex) walkLocked(cid string, f func(seq uint64) bool) {
	seq, ok := x.head[cid]
	for ok && seq >= x.base && seq < x.base+uint64(len(x.back)) && f(seq) {
		d := x.back[seq-x.base]
		ok = d != 0 && uint64(d) <= seq
		seq -= uint64(d)
	}
}

// after is up to limit of cid's seqs greater than after, oldest first. It
// walks the client's events after `after`, not the log's.
func (x *cidIndex) after(cid string, after uint64, limit int) []uint64 {
	x.mu.RLock()
	var out []uint64
	x.walkLocked(cid, func(seq uint64) bool {
		if seq <= after {
			return false
		}
		out = append(out, seq)
		return true
	})
	x.mu.RUnlock()
	slices.Reverse(out)
	return out[:min(len(out), limit)]
}

// latest is cid's newest limit seqs, newest first.
func (x *cidIndex) latest(cid string, limit int) []uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []uint64
	x.walkLocked(cid, func(seq uint64) bool {
		if len(out) == limit {
			return false
		}
		out = append(out, seq)
		return true
	})
	return out
}

// cidOf reads the cid field of a stored event without decoding the rest:
// the index is built from every event at start. Our encoder writes
// `"cid":"` once, after the fields that can hold free text would (type,
// id, time, node hold no quotes that could fake it: see Event's order), so
// the first match is the field; anything odd falls back to encoding/json.
func cidOf(v []byte) string {
	const key = `"cid":"`
	i := bytes.Index(v, []byte(key))
	if i < 0 {
		return ""
	}
	rest := v[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		var c struct {
			CID string `json:"cid"`
		}
		_ = json.Unmarshal(v, &c)
		return c.CID
	}
	return string(rest[:j])
}
