package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/btree"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
	"go.uber.org/zap"

	"github.com/cliser/cliser/registry"
)

// The node does not mirror the bucket's records: it indexes them. An
// entry is what the lists' order and filter, the takeover check, the
// lost-node check and the gauges need (cid, registration revision, holder,
// connected
// and the slot that holds the record), 24 bytes plus the cid's own bytes.
// A list page reads its records from the slots the index names, each
// slot once.

// entry is one record of the bucket in the node's index.
type entry struct {
	cid string
	// meta packs the rest: the revision of the record's registration in
	// the low 38 bits (a stream of 2.7e11 slot writes), the slot in the
	// next 10, the holding node's number (n.names) in the next 15,
	// connected in the top bit.
	meta uint64
}

const (
	revBits   = 38
	revMask   = 1<<revBits - 1
	slotBits  = 16 - slotShift
	slotMask  = 1<<slotBits - 1
	nodeShift = revBits + slotBits
	nodeMask  = 1<<15 - 1
	connected = 1 << 63
	// noNode is the number of "" (a record without a holder) and of any
	// holder past the 32,767th name the node has seen.
	noNode uint16 = 0
)

func lessEntry(a, b entry) bool { return a.cid < b.cid }

// newIndex is an empty index. Degree 32: nodes of 63 entries (1.5 KiB),
// few pointers for the GC to follow per entry.
func newIndex() *btree.BTreeG[entry] { return btree.NewG(32, lessEntry) }

func (e entry) rev() uint64     { return e.meta & revMask }
func (e entry) slot() uint16    { return uint16(e.meta >> revBits & slotMask) }
func (e entry) node() uint16    { return uint16(e.meta >> nodeShift & nodeMask) }
func (e entry) connected() bool { return e.meta&connected != 0 }
func key(cid string) entry      { return entry{cid: cid} }
func packMeta(rev uint64, slot, node uint16, conn bool) uint64 {
	m := rev&revMask | uint64(slot&slotMask)<<revBits | uint64(node&nodeMask)<<nodeShift
	if conn {
		m |= connected
	}
	return m
}

// nodeNumLocked is name's number, given on first sight. n.mu must be held.
func (n *Node) nodeNumLocked(name string) uint16 {
	if name == "" {
		return noNode
	}
	if num, ok := n.nodeNums[name]; ok {
		return num
	}
	if len(n.names) > nodeMask {
		// "peer", not "node": n.log already names this node so, and a
		// second "node" key in one JSON line hid one of the two.
		n.log.Warn("cluster: more than 32,767 node names seen; records of further nodes are indexed without a holder",
			zap.String("peer", name))
		return noNode
	}
	num := uint16(len(n.names))
	n.names = append(n.names, strings.Clone(name))
	n.nodeNums[n.names[num]] = num
	return num
}

// holderLocked is the holding node of e. n.mu must be held.
func (n *Node) holderLocked(e entry) string { return n.names[e.node()] }

// partialLocked is what the index knows of e's record: its cid, holder
// and state. n.mu must be held.
func (n *Node) partialLocked(e entry) registry.Record {
	return registry.Record{CID: e.cid, Node: n.holderLocked(e), CStatus: e.connected()}
}

// fetchParallel bounds the single slot reads of one list page or one
// batch of lost-node marks in flight at once, where a batched read is not
// to be had.
const fetchParallel = 32

// fetched is one record read from the bucket.
type fetched struct {
	rec registry.Record
	err error
}

// fetch reads cids' records from the bucket: each from the slot the index
// names, every slot once (readSlots). A cid the index does not have, or
// whose slot no longer holds it, is registry.ErrNotFound.
func (n *Node) fetch(ctx context.Context, cids []string) []fetched {
	out := make([]fetched, len(cids))
	refs := make([]slotRef, len(cids))
	var want []slotRef
	seen := make(map[slotRef]bool)
	n.mu.Lock()
	for i, cid := range cids {
		e, ok := n.index.Get(key(cid))
		if !ok {
			out[i].err = registry.ErrNotFound
			continue
		}
		refs[i] = slotRef{node: n.holderLocked(e), slot: e.slot()}
		if !seen[refs[i]] {
			seen[refs[i]] = true
			want = append(want, refs[i])
		}
	}
	n.mu.Unlock()
	slots := n.readSlots(ctx, want)
	for i, cid := range cids {
		if out[i].err != nil {
			continue
		}
		sr := slots[refs[i]]
		if sr.err != nil {
			out[i].err = sr.err
			continue
		}
		rec, ok := sr.find(cid)
		if !ok {
			out[i].err = registry.ErrNotFound
			continue
		}
		out[i].rec = rec.Rec
	}
	return out
}

// readSlotsBatch hands put every slot's last message of one batched direct
// get (nil for a subject without one). It returns an error only when the
// server has no batched get (the caller reads one at a time); any other
// failure is handed to put for every slot not yet answered.
func (n *Node) readSlotsBatch(ctx context.Context, subjects []string, at map[string]slotRef,
	put func(slotRef, *jetstream.RawStreamMsg, error),
) error {
	if len(subjects) == 0 {
		return nil
	}
	msgs, err := jetstreamext.GetLastMsgsFor(ctx, n.js, "KV_"+n.opts.clientsBucket, subjects)
	answered := make(map[string]bool, len(subjects))
	if err == nil {
		for m, merr := range msgs {
			if errors.Is(merr, jetstreamext.ErrNoMessages) {
				break
			}
			if merr != nil {
				err = merr
				break
			}
			if r, ok := at[m.Subject]; ok && !answered[m.Subject] {
				answered[m.Subject] = true
				put(r, m, nil)
			}
		}
	}
	if errors.Is(err, jetstreamext.ErrBatchUnsupported) {
		return err
	}
	for _, subj := range subjects {
		if answered[subj] {
			continue
		}
		if err != nil {
			put(at[subj], nil, fmt.Errorf("%w: bucket: %v", registry.ErrUnavailable, err))
		} else {
			put(at[subj], nil, nil)
		}
	}
	return nil
}

// candidate is an entry a list page may show.
type candidate struct {
	e    entry
	own  bool
	rec  registry.Record // partial (cid, holder, state) until read
	read bool            // rec is the bucket's
}

// candidates walks the index for one page (registry.SelectPage): the
// entries q selects, and whether more follow.
func (n *Node) candidates(q registry.Query) ([]candidate, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	entries, more := registry.SelectPage(q,
		func(from string, visit func(entry) bool) { n.index.AscendGreaterOrEqual(key(from), visit) },
		func(e entry) (string, bool) { return e.cid, e.connected() })
	out := make([]candidate, 0, len(entries))
	for _, e := range entries {
		out = append(out, candidate{e: e, own: e.node() == n.self, rec: n.partialLocked(e)})
	}
	return out, more
}

// list is one page of the cluster's records, with registry.List's rules:
// the index decides which cids and whether more follow; the records are
// read from the bucket in one batch. A record that changed state since
// the index saw it and no longer matches the filter is left out; the
// cursor still follows the index, so no cid is skipped or shown twice.
// When NATS does not answer, this node's own clients come from its
// registry and the others' are what the index holds (cid, node, cstatus);
// Stale says so.
func (n *Node) list(q registry.Query) registry.Page {
	if n.reg != nil && !n.natsConnected() {
		return n.staleList(q)
	}
	cands, more := n.candidates(q)
	if n.readPage(cands) && n.reg != nil {
		return n.staleList(q) // the bucket did not answer
	}
	return pageOf(q, cands, more)
}

// pageOf is the page of cands that q's status keeps, and its cursor.
func pageOf(q registry.Query, cands []candidate, more bool) registry.Page {
	page := registry.Page{Records: make([]registry.Record, 0, len(cands))}
	for _, c := range cands {
		if c.rec.CID != "" && q.Status.Match(c.rec.CStatus) {
			page.Records = append(page.Records, c.rec)
		}
	}
	if more {
		page.Next = cands[len(cands)-1].e.cid
	}
	return page
}

// staleList is q's page while NATS does not answer: the index's, with
// this node's registry merged in (withOwn). It tries no bucket read (one
// just failed, or NATS is away): a list answers within the request
// timeout once, not twice.
func (n *Node) staleList(q registry.Query) registry.Page {
	all := q
	all.Status = registry.StatusAll
	cands, more := n.candidates(all)
	n.fillOwn(cands)
	return withOwn(q, pageOf(all, cands, more), n.reg.List(all))
}

// readPage fills cands with their records from the bucket; a record gone
// meanwhile is blanked (left out). Where the bucket does not answer, an
// own client's record comes from the registry and the node is marked
// unhealthy: stale is true.
func (n *Node) readPage(cands []candidate) (stale bool) {
	if len(cands) == 0 {
		return !n.natsConnected()
	}
	var failed error = ErrNATSDown
	if n.natsConnected() {
		failed = nil
		cids := make([]string, len(cands))
		for i := range cands {
			cids[i] = cands[i].e.cid
		}
		ctx, cancel := context.WithTimeout(n.ctx, n.opts.requestTimeout)
		defer cancel()
		for i, f := range n.fetch(ctx, cids) {
			switch {
			case f.err == nil:
				cands[i].rec, cands[i].read = f.rec, true
			case errors.Is(f.err, registry.ErrNotFound):
				cands[i].rec, cands[i].read = registry.Record{}, true
			default:
				failed = f.err
			}
		}
		if failed == nil {
			return false
		}
		n.unhealthy(failed)
	}
	n.fillOwn(cands)
	return true
}

// fillOwn gives the own clients of cands not read from the bucket their
// records from this node's registry; the others keep what the index
// holds (cid, holder, state).
func (n *Node) fillOwn(cands []candidate) {
	for i := range cands {
		if cands[i].read || !cands[i].own || n.reg == nil {
			continue
		}
		if rec, ok := n.reg.Get(cands[i].e.cid); ok {
			cands[i].rec = rec
		}
	}
}

// connectedSlots lists the slots holding connected entries whose holder
// pick selects, each once.
func (n *Node) connectedSlots(pick func(node string) bool) []slotRef {
	var out []slotRef
	seen := make(map[slotRef]bool)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.index.Ascend(func(e entry) bool {
		if !e.connected() {
			return true
		}
		r := slotRef{node: n.holderLocked(e), slot: e.slot()}
		if !seen[r] && pick(r.node) {
			seen[r] = true
			out = append(out, r)
		}
		return true
	})
	return n.supersededSlotsLocked(pick, seen, out)
}
