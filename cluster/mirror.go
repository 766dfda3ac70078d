package cluster

import (
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// watch keeps the mirror in step with the bucket and, on every other
// node's registration, checks whether it replaces a session of this node.
// When told to (rewatch: the NATS connection was re-established, and a
// watch's consumer does not always survive that) or when the watch ends,
// it watches again from the revision after the last one applied, so the
// mirror misses nothing (deletes are markers, delivered like puts).
func (n *Node) watch(w *bucketWatcher) {
	defer n.wg.Done()
	syncedOnce := false
	for {
		again := n.follow(w, &syncedOnce)
		_ = w.Stop()
		if !again {
			return
		}
		for failed := 0; ; failed++ {
			n.mu.Lock()
			from := n.lastRev + 1
			n.mu.Unlock()
			var err error
			w, err = n.watchRecords(n.ctx, from)
			if err == nil {
				n.log.Info("cluster: watching the bucket again", zap.Uint64("from_revision", from), zap.Int("failed_tries", failed))
				break
			}
			log := n.log.Debug // once an outage, not each second of it
			if failed == 0 {
				log = n.log.Warn
			}
			log("cluster: could not watch the bucket; retrying every second", zap.Error(err))
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// follow applies w's changes until ctx ends (false) or the watch must be
// made again (true).
func (n *Node) follow(w *bucketWatcher, syncedOnce *bool) bool {
	for {
		var e *change
		var ok bool
		select {
		case <-n.ctx.Done():
			return false
		case <-n.rewatch:
			return true
		case e, ok = <-w.Updates():
			if !ok {
				return n.ctx.Err() == nil
			}
		}
		if e == nil { // the end of the initial values
			if !*syncedOnce {
				*syncedOnce = true
				close(n.synced)
			}
			continue
		}
		n.apply(e)
	}
}

// apply is one bucket change: a slot's new value, or its delete or
// expiry.
func (n *Node) apply(c *change) {
	node, slot, err := parseSlotKey(c.key)
	if err != nil {
		n.foreignKey(c)
		return
	}
	if c.op == jetstream.KeyValueDelete || c.op == jetstream.KeyValuePurge {
		n.dropSlot(node, slot, c.rev)
		return
	}
	v, err := decodeSlot(c.value, node)
	if err != nil {
		// Not even a newer version's reason (those decode, as their text):
		// the index drops what it held of the slot rather than show a
		// state the bucket no longer has.
		n.log.Warn("cluster: undecodable slot value in bucket; its records are left out of the list",
			zap.String("key", c.key), zap.Error(err))
		n.dropSlot(node, slot, c.rev)
		return
	}
	n.applySlot(node, slot, c, v)
}

// applySlot indexes one slot value, by the one rule every node applies in
// the stream's order: for a cid the highest registration revision wins;
// a record of the same registration is taken only from its holder.
// Then the takeover check (another node's newer registration of a live
// session here) and the republish check (this node's slot written by
// another: it judged this node lost).
func (n *Node) applySlot(node string, slot uint16, c *change, v slotValue) {
	n.mu.Lock()
	n.lastRev = max(n.lastRev, c.rev)
	num := n.nodeNumLocked(node)
	if n.ownInit != nil && num == n.self {
		n.ownInit[slot] = initialSlot{seq: c.rev, value: v}
	}
	replaced, registered := n.indexSlotLocked(num, slot, c.rev, v)
	marked, markedP := n.othersMarksLocked(num, slot, c, v)
	// Counted before the index shows them (n.mu): a registration seen
	// in this node's list is one its flapping has counted, so the next
	// one here, however soon, is counted after it.
	if f := n.remoteRegistrations.Load(); f != nil {
		for _, r := range registered {
			(*f)(r.CID, r.ConnectedAt)
		}
	}
	n.mu.Unlock()
	for _, cid := range replaced {
		n.closeReplaced(cid)
	}
	for i, cid := range marked {
		n.republish(cid, markedP[i])
	}
}

// indexSlotLocked takes the records of node num's slot value v, written
// at rev, into the index by the rule, and its removed cids out of it, and
// counts the slot's superseded records again. It returns the cids whose
// live session here another node's registration replaced, and another
// node's registrations new to the index (flapping counts them). n.mu must
// be held.
func (n *Node) indexSlotLocked(num, slot uint16, rev uint64, v slotValue) (replaced []string, registered []registry.Record) {
	superseded := 0
	if num != noNode { // a holder past the names kept is no slot to mark
		defer func() { n.setSupersededLocked(slotRef{node: n.names[num], slot: slot}, superseded) }()
	}
	for _, r := range v.Records {
		reg := r.RegRev
		if reg == 0 {
			reg = rev
		}
		cid := r.Rec.CID
		old, had := n.index.Get(key(cid))
		if had && (reg < old.rev() || reg == old.rev() && old.node() != num) {
			if r.Rec.CStatus && reg < old.rev() && old.node() != num {
				superseded++
			}
			continue // an older registration's record, or not from its holder
		}
		ne := entry{cid: old.cid, meta: packMeta(reg, slot, num, r.Rec.CStatus)}
		if had && ne.meta == old.meta {
			continue
		}
		if !had {
			ne.cid = strings.Clone(cid)
		}
		n.index.ReplaceOrInsert(ne)
		if had {
			n.countLocked(old, -1)
			n.supersedeLocked(old, ne)
		}
		// A registration is new by its revision, connected or not: a
		// client gone before its node's flush (a crash loop) reaches
		// this node only as a disconnected record, and still counts.
		if num != n.self && (!had || reg > old.rev()) {
			registered = append(registered, r.Rec)
		}
		n.countLocked(ne, +1)
		if n.replacedLocked(cid) {
			replaced = append(replaced, cid)
		}
	}
	for _, cid := range v.Removed {
		if e, ok := n.index.Get(key(cid)); ok && e.node() == num && e.slot() == slot {
			n.index.Delete(e)
			n.countLocked(e, -1)
		}
	}
	return replaced, registered
}

// othersMarksLocked: the live sessions this node published that another
// node's write of this node's slot marked disconnected (it judged this
// node lost), each answered once, here or by the store's resync. n.mu
// must be held.
func (n *Node) othersMarksLocked(num, slot uint16, c *change, v slotValue) (marked []string, markedP []published) {
	if num != n.self || c.writer == n.id || n.marksAnswered[slot] >= c.rev {
		return nil, nil
	}
	n.marksAnswered[slot] = c.rev // once, here or by the store's resync
	for _, r := range v.Records {
		if p, ok := n.published[r.Rec.CID]; ok && !r.Rec.CStatus && p.cstatus && p.session(r.Rec) {
			marked, markedP = append(marked, r.Rec.CID), append(markedP, p)
		}
	}
	if len(marked) > 0 {
		n.forced[slot] = struct{}{}
	}
	return marked, markedP
}

// foreignKey is a key that is not a slot's: a record of the per-client
// layout, written by a build before the slots. The node refuses to start
// on such a bucket (Start); a running node leaves the key out of its
// index and says so once.
func (n *Node) foreignKey(c *change) {
	n.mu.Lock()
	n.lastRev = max(n.lastRev, c.rev)
	first := n.foreignKeys == 0
	if c.op == jetstream.KeyValuePut {
		n.foreignKeys++
	}
	n.mu.Unlock()
	if first && c.op == jetstream.KeyValuePut {
		n.log.Warn("cluster: the clients bucket holds a key of the per-client layout of an earlier cliser build; "+
			"it is left out of the index (docs/cluster.md, Rolling upgrades)", zap.String("key", c.key))
	}
}

// republish has this node's registry write cid again with its next flush.
// Not a write of its own: after a partition heals the watch delivers
// thousands of such marks at once, and the flusher, one writer in order,
// writes whatever the client's state is by then (still connected, or
// ended meanwhile: never an older state over a newer one).
// Only while the session p names is still live here: the mark may be this
// node's own write of its end, delivered before wrote noted it.
func (n *Node) republish(cid string, p published) {
	if n.reg == nil {
		return
	}
	if rec, ok := n.reg.Get(cid); !ok || !rec.CStatus || !p.session(rec) || !n.reg.Rewrite(cid) {
		return // ended meanwhile: its own write of the end follows
	}
	n.noteRepublished(cid, 1)
}

// noteRepublished counts k live clients of this node written again over
// another node's marks, and warns once per burst, not once per client.
func (n *Node) noteRepublished(cid string, k int) {
	n.metrics.republished.Add(float64(k))
	if n.republishLog.Open(republishLogEvery) {
		n.log.Warn("cluster: live clients of this node were marked disconnected by another node (it judged this node lost); publishing them again",
			zap.String("first_cid", cid), zap.Duration("next_line_in", republishLogEvery))
	}
}

// republishLogEvery spaces the republish warnings; the counter
// cliser_cluster_republished_total has every one.
const republishLogEvery = 10 * time.Second

// dropSlot takes the records of node's slot out of the index: the
// bucket deleted or expired the slot, or holds what this build can not
// read. The index has no list of a slot's records, so this walks it: it
// happens once per slot a retention ages out, not per write.
func (n *Node) dropSlot(node string, slot uint16, rev uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lastRev = max(n.lastRev, rev)
	num, ok := n.nodeNums[node]
	if !ok {
		return
	}
	delete(n.superseded, slotRef{node: node, slot: slot})
	var gone []entry
	n.index.Ascend(func(e entry) bool {
		if e.node() == num && e.slot() == slot {
			gone = append(gone, e)
		}
		return true
	})
	for _, e := range gone {
		n.index.Delete(e)
		n.countLocked(e, -1)
	}
}

// countLocked keeps the connected counts in step with the index; delta
// is +1 for an entry coming in, -1 for one going out. n.mu must be held.
func (n *Node) countLocked(e entry, delta int) {
	if !e.connected() {
		return
	}
	n.connected += delta
	node := n.holderLocked(e)
	if c := n.connectedBy[node] + delta; c > 0 {
		n.connectedBy[node] = c
	} else {
		delete(n.connectedBy, node)
	}
}

// replacedLocked: the index holds another node's registration of cid at
// a revision newer than this node's registration of its live session.
// Connected or not: a registration gone before its node's flush is
// written once, disconnected, and is still the newer one (on one node it
// would have replaced this session too). Left live, the session was
// listed disconnected on every node, the newer record winning the index,
// for as long as it lasted. n.mu must be held.
func (n *Node) replacedLocked(cid string) bool {
	p, ok := n.published[cid]
	if !ok || !p.cstatus {
		return false
	}
	e, ok := n.index.Get(key(cid))
	return ok && e.rev() > p.rev && e.node() != n.self
}

// closeReplaced ends this node's session of cid with 190 replaced, if the
// live session is still the one this node published (a newer local one
// is not yet published; its write will win over the other node's).
func (n *Node) closeReplaced(cid string) {
	if n.reg == nil {
		return
	}
	n.mu.Lock()
	p, ok := n.published[cid]
	to := "" // the node whose registration replaced it, as the index has it
	if e, in := n.index.Get(key(cid)); in && e.node() != n.self {
		to = n.holderLocked(e)
	}
	n.mu.Unlock()
	rec, found := n.reg.Get(cid)
	if !ok || !found || !rec.CStatus || !p.session(rec) {
		return
	}
	conn, err := n.reg.ConnOf(cid, rec.SID) // not a newer local session
	if err != nil {
		return
	}
	n.log.Info("cluster: client registered on another node; closing here", zap.String("cid", cid), zap.String("to_node", to))
	n.metrics.takeovers.Inc()
	_ = conn.Close(protocol.ReasonReplaced)
}
