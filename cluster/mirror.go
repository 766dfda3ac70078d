package cluster

import (
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
func (n *Node) watch(w jetstream.KeyWatcher) {
	defer n.wg.Done()
	syncedOnce := false
	for {
		again := n.follow(w, &syncedOnce)
		_ = w.Stop()
		if !again {
			return
		}
		for {
			n.mu.Lock()
			from := n.lastRev + 1
			n.mu.Unlock()
			var err error
			w, err = n.clients.WatchAll(n.ctx, jetstream.ResumeFromRevision(from))
			if err == nil {
				n.log.Info("cluster: watching the bucket again", zap.Uint64("from_revision", from))
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
func (n *Node) follow(w jetstream.KeyWatcher, syncedOnce *bool) bool {
	for {
		var e jetstream.KeyValueEntry
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

// apply is one bucket change.
func (n *Node) apply(e jetstream.KeyValueEntry) {
	cid, err := idOf(e.Key())
	if err != nil {
		return
	}
	if op := e.Operation(); op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge {
		n.mu.Lock()
		n.lastRev = max(n.lastRev, e.Revision())
		if old, ok := n.mirror.Delete(&item{rec: registry.Record{CID: cid}}); ok {
			n.countLocked(old.rec, -1)
		}
		n.mu.Unlock()
		return
	}
	rec, err := decodeRecord(e.Value())
	if err != nil {
		// Not even a newer version's reason (those decode, as their text):
		// the mirror drops what it held rather than show a state the
		// bucket no longer has.
		n.log.Warn("cluster: undecodable record in bucket; left out of the list", zap.String("key", e.Key()), zap.Error(err))
		n.mu.Lock()
		n.lastRev = max(n.lastRev, e.Revision())
		if old, ok := n.mirror.Delete(&item{rec: registry.Record{CID: cid}}); ok {
			n.countLocked(old.rec, -1)
		}
		n.mu.Unlock()
		return
	}
	rec.CID = cid
	n.mu.Lock()
	n.lastRev = max(n.lastRev, e.Revision())
	if old, ok := n.mirror.Get(&item{rec: registry.Record{CID: cid}}); ok && old.rev >= e.Revision() {
		n.mu.Unlock()
		return
	}
	if old, ok := n.mirror.ReplaceOrInsert(&item{rec: rec, rev: e.Revision()}); ok {
		n.countLocked(old.rec, -1)
	}
	n.countLocked(rec, +1)
	replaced := n.replacedLocked(cid)
	p, ok := n.published[cid]
	// Another node marked a live session of this node disconnected (it
	// thought this node lost: a heartbeat late under load, a partition
	// that healed). The session is still here, so say so again.
	wrongful := ok && p.cstatus && !rec.CStatus && rec.Node == n.id && e.Revision() > p.rev
	if wrongful {
		// The mark went over this node's own write, so the write that
		// answers it may go over the mark: one round trip instead of a
		// failed compare-and-set, a read and another write.
		p.rev = e.Revision()
		n.published[cid] = p
	}
	n.mu.Unlock()
	if replaced {
		n.closeReplaced(cid)
	}
	if wrongful {
		n.republish(cid, p)
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

// countLocked keeps the connected counts in step with the mirror; delta
// is +1 for a record coming in, -1 for one going out. n.mu must be held.
func (n *Node) countLocked(r registry.Record, delta int) {
	if !r.CStatus {
		return
	}
	n.connected += delta
	if c := n.connectedBy[r.Node] + delta; c > 0 {
		n.connectedBy[r.Node] = c
	} else {
		delete(n.connectedBy, r.Node)
	}
}

// replacedLocked: the mirror holds another node's registration of cid at
// a revision newer than this node's publication of its live session.
// n.mu must be held.
func (n *Node) replacedLocked(cid string) bool {
	p, ok := n.published[cid]
	if !ok || !p.cstatus {
		return false
	}
	it, ok := n.mirror.Get(&item{rec: registry.Record{CID: cid}})
	return ok && it.rev > p.rev && it.rec.CStatus && it.rec.Node != n.id
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

// list is one page of the mirror, with registry.List's rules.
func (n *Node) list(q registry.Query) registry.Page {
	limit := q.Limit
	if limit <= 0 {
		limit = registry.DefaultPageLimit
	}
	limit = min(limit, registry.MaxPageLimit)
	page := registry.Page{Records: make([]registry.Record, 0, min(limit, 64))}
	more := false
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mirror.AscendGreaterOrEqual(&item{rec: registry.Record{CID: q.From()}}, func(it *item) bool {
		if q.Past(it.rec.CID) {
			return false
		}
		if it.rec.CID == q.After || !matches(q.Status, it.rec.CStatus) {
			return true
		}
		if len(page.Records) == limit {
			more = true
			return false
		}
		page.Records = append(page.Records, it.rec)
		return true
	})
	if more {
		page.Next = page.Records[len(page.Records)-1].CID
	}
	return page
}

func matches(s registry.Status, connected bool) bool {
	switch s {
	case registry.StatusConnected:
		return connected
	case registry.StatusDisconnected:
		return !connected
	}
	return true
}
