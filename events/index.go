package events

import (
	"hash/maphash"
	"math"
	"sync"
	"unsafe"

	"github.com/cliser/cliser/internal/offheap"
)

// cidIndex finds each client's events without scanning the log: history
// and ?cid= walk it. It is built when the log opens, from the events
// themselves, and kept by the writer.
//
// In memory and not a bucket of the file: an on-disk index by client ID is
// a random insert per event into a B+tree (19,000 clients reconnecting
// touch 19,000 places of it), which measured as four tenths of the
// writer's CPU and a third of the file. It is a chain per slot: clients
// are hashed into a fixed table of slots, each holding its newest seq, and
// for every retained event the distance back to the previous event of the
// same slot (4 bytes, in seq order, so the seq itself is not stored).
// Clients that share a slot share a chain, so a walk yields candidates
// that the reader filters by cid. That is 4 bytes per retained event (4
// MB at the default 1,000,000) and the table (512 KB): nothing per client.
// A map from cid to its newest seq was a map entry and the key's string a
// client (~40–75 B, and half as much again in GC headroom), what a fleet's
// RSS per idle client showed with the log on.
type cidIndex struct {
	mu   sync.RWMutex
	seed maphash.Seed
	head []uint64 // each slot's newest seq; 0 for none: headMem's bytes
	// headMem holds head off the Go heap (kept here while head is read):
	// on the heap its 512 KB raised the GC's goal by half as much again,
	// and the heap a server kept resident after a ramp with it (issue 17,
	// session 16).
	headMem *offheap.Region
	base    uint64    // the seq of back's first distance
	back    distances // seq base+i: how far back the same slot's previous event is; 0 for none
}

// indexSlots is the table's size: 512 KB of seqs. At 19,000 clients a
// quarter share their slot with another (their walks read its events
// too); at 100,000 a slot holds ~1.5 clients.
const indexSlots = 1 << 16

func newCIDIndex(slots int) *cidIndex {
	slots = max(slots, 1)
	mem := offheap.New(slots * 8)
	head := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(mem.Bytes()))), slots)
	return &cidIndex{seed: maphash.MakeSeed(), head: head, headMem: mem}
}

func (x *cidIndex) slot(cid string) *uint64 {
	return &x.head[maphash.String(x.seed, cid)%uint64(len(x.head))]
}

// add indexes seq, of cid ("" for an event of no client). Seqs come in
// order; a gap (seqs that never were, none in a log we wrote) is filled.
func (x *cidIndex) add(cid string, seq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.addLocked(cid, seq)
}

// addBlock indexes the events of a queue's block, the first of them seq,
// under one lock. Most of an add is the read of its slot, a cache miss in
// the 512 KB table; a lock per event serialised those misses (its locked
// instructions wait for the loads before them), one per block lets the
// CPU overlap them, and a reader waits at most a block's 128 adds.
func (x *cidIndex) addBlock(b []queued, seq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range b {
		x.addLocked(b[i].cid, seq+uint64(i))
	}
}

func (x *cidIndex) addLocked(cid string, seq uint64) {
	if x.back.len() == 0 {
		x.base = seq
	}
	if seq < x.base+uint64(x.back.len()) {
		return // not in order: cannot be, ignored rather than corrupting the chains
	}
	for x.base+uint64(x.back.len()) < seq {
		x.back.push(0)
	}
	var d uint32
	if cid != "" {
		h := x.slot(cid)
		if *h != 0 && *h >= x.base && seq-*h <= math.MaxUint32 {
			d = uint32(seq - *h)
		}
		*h = seq
	}
	x.back.push(d)
}

// drop forgets the events before oldest. A slot whose newest event is
// older is seen as empty by walks and by add.
func (x *cidIndex) drop(oldest uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if oldest <= x.base {
		return
	}
	i := oldest - x.base
	x.back.dropFirst(int(min(i, uint64(x.back.len()))))
	x.base = oldest
}

// chain is up to n seqs of cid's slot, newest first, from `from` (its
// newest when from is 0) down to the first at or below floor, and the seq
// the walk goes on with (0 at the chain's end). The seqs are candidates:
// other clients of the slot are among them, for the reader to filter.
func (x *cidIndex) chain(cid string, from, floor uint64, n int) (seqs []uint64, next uint64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	seq := from
	if seq == 0 {
		seq = *x.slot(cid)
	}
	for seq > floor && seq >= x.base && seq < x.base+uint64(x.back.len()) {
		if len(seqs) == n {
			return seqs, seq
		}
		seqs = append(seqs, seq)
		d := uint64(x.back.at(int(seq - x.base)))
		if d == 0 || d > seq {
			break
		}
		seq -= d
	}
	return seqs, 0
}
