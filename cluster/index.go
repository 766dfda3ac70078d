package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/btree"
	"github.com/synadia-io/orbit.go/jetstreamext"
	"go.uber.org/zap"

	"github.com/cliser/cliser/registry"
)

// The node does not mirror the bucket's records: it indexes them. An
// entry is what the lists' order and filter, the takeover check, the
// lost-node check and the gauges need (cid, revision, holder, connected),
// 24 bytes plus the cid's own bytes, whatever the fleet's size. A list
// page reads its records from this node's registry (its own clients) and
// from the bucket (the others'), a bounded number at a time.

// entry is one record of the bucket in the node's index.
type entry struct {
	cid string
	// meta packs the rest: the revision in the low 48 bits (a stream of
	// 2.8e14 writes), the holding node's number (n.names) in the next 15,
	// connected in the top bit.
	meta uint64
}

const (
	revBits   = 48
	revMask   = 1<<revBits - 1
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
func (e entry) node() uint16    { return uint16(e.meta >> revBits & nodeMask) }
func (e entry) connected() bool { return e.meta&connected != 0 }
func key(cid string) entry      { return entry{cid: cid} }
func packMeta(rev uint64, node uint16, conn bool) uint64 {
	m := rev&revMask | uint64(node&nodeMask)<<revBits
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
		n.log.Warn("cluster: more than 32,767 node names seen; records of further nodes are indexed without a holder",
			zap.String("node", name))
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

// fetchParallel bounds the single bucket reads of one list page or one
// batch of lost-node marks in flight at once, where a batched read is not
// to be had.
const fetchParallel = 32

// fetched is one record read from the bucket at its revision.
type fetched struct {
	rec registry.Record
	rev uint64
	err error
}

// fetch reads cids' records from the bucket: one batched direct get
// (nats-server 2.11 or later answers many keys' last values to one
// request), else fetchParallel single reads at a time.
func (n *Node) fetch(ctx context.Context, cids []string) []fetched {
	out := make([]fetched, len(cids))
	err := n.fetchBatch(ctx, cids, out)
	if err == nil {
		return out
	}
	if !errors.Is(err, jetstreamext.ErrBatchUnsupported) {
		for i := range out {
			if out[i].err == nil && out[i].rev == 0 {
				out[i].err = fmt.Errorf("%w: bucket: %v", registry.ErrUnavailable, err)
			}
		}
		return out
	}
	sem := make(chan struct{}, fetchParallel)
	var wg sync.WaitGroup
	for i, cid := range cids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i].rec, out[i].rev, out[i].err = n.readRev(ctx, cid)
		}()
	}
	wg.Wait()
	return out
}

// fetchBatch fills out with one batched direct get of cids' last values.
// A key without one, or whose last is a delete, is registry.ErrNotFound.
// On an error the entries not yet answered are left zero.
func (n *Node) fetchBatch(ctx context.Context, cids []string, out []fetched) error {
	prefix := "$KV." + n.opts.clientsBucket + "."
	subjects := make([]string, len(cids))
	at := make(map[string]int, len(cids))
	for i, cid := range cids {
		subjects[i] = prefix + keyOf(cid)
		at[subjects[i]] = i
	}
	msgs, err := jetstreamext.GetLastMsgsFor(ctx, n.js, "KV_"+n.opts.clientsBucket, subjects)
	if err != nil {
		return err
	}
	seen := make([]bool, len(cids))
	for m, err := range msgs {
		if errors.Is(err, jetstreamext.ErrNoMessages) {
			break
		}
		if err != nil {
			return err
		}
		i, ok := at[m.Subject]
		if !ok {
			continue
		}
		seen[i] = true
		if op := m.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
			out[i].err = registry.ErrNotFound
			continue
		}
		rec, err := decodeRecord(m.Data)
		if err != nil {
			out[i].err = fmt.Errorf("cluster: record of %s: %w", cids[i], err)
			continue
		}
		rec.CID = cids[i]
		out[i].rec, out[i].rev = rec, m.Sequence
	}
	for i := range out {
		if !seen[i] {
			out[i].err = registry.ErrNotFound
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
	cands, more := n.candidates(q)
	n.readPage(cands)
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

// readPage fills cands with their records from the bucket; a record gone
// meanwhile is blanked (left out). Where the bucket does not answer, an
// own client's record comes from the registry and the node is marked
// unhealthy (stale).
func (n *Node) readPage(cands []candidate) {
	if len(cands) == 0 {
		return
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
			return
		}
		n.unhealthy(failed)
	}
	for i := range cands {
		if cands[i].read || !cands[i].own || n.reg == nil {
			continue
		}
		if rec, ok := n.reg.Get(cands[i].e.cid); ok {
			cands[i].rec = rec
		}
	}
}

// connectedWhere lists the cids of connected entries whose holder pick
// selects.
func (n *Node) connectedWhere(pick func(node string) bool) []string {
	var out []string
	n.mu.Lock()
	defer n.mu.Unlock()
	n.index.Ascend(func(e entry) bool {
		if e.connected() && pick(n.holderLocked(e)) {
			out = append(out, e.cid)
		}
		return true
	})
	return out
}
