package cluster

import (
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
)

// watch keeps the mirror in step with the bucket and, on every other
// node's registration, checks whether it replaces a session of this node.
// When told to (rewatch: the NATS connection was re-established, and a
// watch's consumer does not always survive that) or when the watch ends,
// it watches again from the revision after the last one applied, so the
// mirror misses nothing (deletes are markers, delivered like puts).
func (n *Node) watch(w *recordWatcher) {
	defer n.wg.Done()
	syncedOnce := false
	for {
		again := n.follow(w, &syncedOnce)
		_ = w.Stop()
		if !again {
			return
		}
		switched := w.bodies && syncedOnce
		for {
			n.mu.Lock()
			from := n.lastRev + 1
			n.mu.Unlock()
			var err error
			w, err = n.watchRecords(n.ctx, from, false)
			if err == nil && !switched {
				n.log.Info("cluster: watching the bucket again", zap.Uint64("from_revision", from))
			}
			if err == nil {
				break
			}
			n.log.Warn("cluster: could not watch the bucket; retrying", zap.Error(err))
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
func (n *Node) follow(w *recordWatcher, syncedOnce *bool) bool {
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
			if w.bodies {
				return true // on with headers only (watcher.go)
			}
			continue
		}
		n.apply(e)
	}
}

// apply is one bucket change.
func (n *Node) apply(c *change) {
	cid, err := idOf(c.key)
	if err != nil {
		return
	}
	if c.op == jetstream.KeyValueDelete || c.op == jetstream.KeyValuePurge {
		n.drop(cid, c.rev)
		return
	}
	if !c.indexed && !n.indexFields(cid, c) {
		return
	}
	n.mu.Lock()
	n.lastRev = max(n.lastRev, c.rev)
	old, had := n.index.Get(key(cid))
	if had && old.rev() >= c.rev {
		n.mu.Unlock()
		return
	}
	ne := entry{cid: old.cid, meta: packMeta(c.rev, n.nodeNumLocked(c.node), c.cstatus)}
	if !had {
		ne.cid = strings.Clone(cid) // not a slice of the message's subject
	}
	n.index.ReplaceOrInsert(ne)
	if had {
		n.countLocked(old, -1)
	}
	n.countLocked(ne, +1)
	replaced := n.replacedLocked(cid)
	p, wrongful := n.markedLocked(cid)
	n.mu.Unlock()
	if replaced {
		n.closeReplaced(cid)
	}
	if wrongful {
		n.republish(cid, p)
	}
}

// indexFields fills c's holder and status from the record itself, for a
// write without the index's headers (watcher.go), by an older build or by
// hand: from its body when the watch brought it (the initial values),
// else read from the bucket. The bucket may hold a newer revision by
// now; c then takes it (the watch brings that revision later, and it is
// skipped as not newer). false: c is not to be applied (deleted since,
// undecodable, or the read failed: the record's next write brings it).
func (n *Node) indexFields(cid string, c *change) bool {
	val, rev := c.value, c.rev
	if val == nil {
		ctx, cancel := n.opCtx()
		defer cancel()
		e, err := n.clients.Get(ctx, c.key)
		if err != nil {
			if !errors.Is(err, jetstream.ErrKeyNotFound) {
				n.log.Warn("cluster: could not read a record written without index headers", zap.String("key", c.key), zap.Error(err))
			}
			n.mu.Lock()
			n.lastRev = max(n.lastRev, c.rev)
			n.mu.Unlock()
			return false
		}
		val, rev = e.Value(), max(c.rev, e.Revision())
	}
	rec, err := decodeRecord(val)
	if err != nil {
		// Not even a newer version's reason (those decode, as their text):
		// the index drops what it held rather than show a state the
		// bucket no longer has.
		n.log.Warn("cluster: undecodable record in bucket; left out of the list", zap.String("key", c.key), zap.Error(err))
		n.drop(cid, rev)
		return false
	}
	c.rev, c.node, c.cstatus, c.indexed = rev, rec.Node, rec.CStatus, true
	return true
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
	n.metrics.republished.Inc()
	// One line per burst, not one per client.
	now := time.Now().UnixNano()
	last := n.republishLogged.Load()
	if now-last >= int64(republishLogEvery) && n.republishLogged.CompareAndSwap(last, now) {
		n.log.Warn("cluster: live clients of this node were marked disconnected by another node (it judged this node lost); publishing them again",
			zap.String("first_cid", cid), zap.Duration("next_line_in", republishLogEvery))
	}
}

// republishLogEvery spaces the republish warnings; the counter
// cliser_cluster_republished_total has every one.
const republishLogEvery = 10 * time.Second

// drop takes cid out of the index: the bucket deleted it, or holds what
// this build can not read.
func (n *Node) drop(cid string, rev uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lastRev = max(n.lastRev, rev)
	if old, ok := n.index.Delete(key(cid)); ok {
		n.countLocked(old, -1)
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
// a revision newer than this node's publication of its live session.
// n.mu must be held.
func (n *Node) replacedLocked(cid string) bool {
	p, ok := n.published[cid]
	if !ok || !p.cstatus {
		return false
	}
	e, ok := n.index.Get(key(cid))
	return ok && e.rev() > p.rev && e.connected() && e.node() != n.self
}

// markedLocked: another node marked a live session of this node
// disconnected (it thought this node lost: a heartbeat late under load, a
// partition that healed), at a revision newer than this node's
// publication of it. The session is still here, so it is to be said
// again. The mark went over this node's own write, so the write that
// answers it may go over the mark: one round trip instead of a failed
// compare-and-set, a read and another write. n.mu must be held.
func (n *Node) markedLocked(cid string) (published, bool) {
	p, ok := n.published[cid]
	if !ok || !p.cstatus {
		return p, false
	}
	e, ok := n.index.Get(key(cid))
	if !ok || e.connected() || e.node() != n.self || e.rev() <= p.rev {
		return p, false
	}
	p.rev = e.rev()
	n.published[cid] = p
	return p, true
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
	n.mu.Unlock()
	rec, found := n.reg.Get(cid)
	if !ok || !found || !rec.CStatus || !p.session(rec) {
		return
	}
	conn, err := n.reg.ConnOf(cid, rec.SID) // not a newer local session
	if err != nil {
		return
	}
	n.log.Info("cluster: client registered on another node; closing here", zap.String("cid", cid))
	n.metrics.takeovers.Inc()
	_ = conn.Close(protocol.ReasonReplaced)
}
