package cluster

import (
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/registry"
)

// hdrWriter names the node that wrote a slot value. A node's slots are
// written by that node, except a survivor's marks of a lost node's
// records (and a restarted node's of its earlier run): a node that sees
// its own slot written by another knows it was judged lost.
const hdrWriter = "Cliser-Writer"

// slotRefresh: a slot whose records changed only by their last_seen (the
// registry's checkpoint) is written again at most this often. It keeps
// the slot's key alive against the retention and last_seen within a
// minute and a half in the bucket, without a write of the whole slot per
// record checkpointed.
const slotRefresh = 30 * time.Second

// ownSlots is this node's records by slot as it wrote them last (or is
// about to). Only the registry's flusher (Save) and Start use it, under mu.
type ownSlots struct {
	mu     sync.Mutex
	slots  map[uint16]*ownSlot
	where  map[string]uint16 // cid → the slot that holds its record
	writes int               // slot writes begun, for the tests' hook
}

// ownSlot is one slot of this node.
type ownSlot struct {
	recs    map[string]*slotRecord
	removed []string // cids taken out and not yet written as removed
	lastSeq uint64   // the key's revision this node's next write goes over; 0: none
	dirty   bool
	wroteAt time.Time
}

func (o *ownSlots) slot(s uint16) *ownSlot {
	if o.slots == nil {
		o.slots, o.where = make(map[uint16]*ownSlot), make(map[string]uint16)
	}
	sl := o.slots[s]
	if sl == nil {
		sl = &ownSlot{recs: make(map[string]*slotRecord)}
		o.slots[s] = sl
	}
	return sl
}

// put takes rec, this node's newest state of a client. A new session (sid
// or connected_at differ from the slot's) is a registration: its
// revision is the write's own (RegRev 0). A change of last_seen alone
// waits for slotRefresh.
func (o *ownSlots) put(rec registry.Record, now time.Time) {
	s := slotOf(rec.SID)
	if at, ok := o.where[rec.CID]; ok && at != s {
		o.remove(rec.CID)
	}
	sl := o.slot(s)
	o.where[rec.CID] = s
	cur := sl.recs[rec.CID]
	if cur == nil {
		sl.recs[rec.CID] = &slotRecord{Rec: rec}
		sl.dirty = true
		return
	}
	same := cur.Rec.SID == rec.SID && cur.Rec.ConnectedAt.Equal(rec.ConnectedAt)
	if !same {
		cur.RegRev = 0
	}
	old := cur.Rec
	cur.Rec = rec
	old.LastSeen = rec.LastSeen
	if !same || !sameRecord(old, rec) || now.Sub(sl.wroteAt) >= slotRefresh {
		sl.dirty = true
	}
}

func sameRecord(a, b registry.Record) bool {
	return a.SID == b.SID && a.CID == b.CID && a.CIP == b.CIP && a.CPort == b.CPort && a.CStatus == b.CStatus &&
		a.ConnectedAt.Equal(b.ConnectedAt) && a.LastSeen.Equal(b.LastSeen) &&
		a.DisconnectedAt.Equal(b.DisconnectedAt) && a.Reason == b.Reason && a.Node == b.Node && a.Session == b.Session
}

// remove takes cid out of its slot; the slot's next write says so.
func (o *ownSlots) remove(cid string) {
	at, ok := o.where[cid]
	if !ok {
		return
	}
	delete(o.where, cid)
	sl := o.slots[at]
	delete(sl.recs, cid)
	sl.removed = append(sl.removed, cid)
	sl.dirty = true
}

// Save takes the registry's changes into this node's slots and writes
// every slot they changed, each once (writeSlotsLocked). On a failure the
// registry keeps the batch for the next flush; the slots keep their
// changes too, and go with the next write.
func (s *store) Save(put []registry.Record, gone []string) error {
	n := (*Node)(s)
	o := &n.own
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, cid := range gone {
		o.remove(cid)
		n.forget(cid)
	}
	now := time.Now()
	for _, rec := range put {
		rec.Node = n.id
		o.put(rec, now)
	}
	takeover, from := n.weighPut(put)
	n.mu.Lock()
	for s := range n.forced {
		o.slot(s).dirty = true
		delete(n.forced, s)
	}
	n.mu.Unlock()
	if takeover {
		n.awaitTakeoverEvents()
	}
	defer n.backlog.begin(len(put))()
	if err := n.writeSlotsLocked(); err != nil {
		return err // the registry hands the batch back: logged when it is written
	}
	n.logTakeovers(from)
	return nil
}

// weighPut looks each record of put up in the index, once. It counts
// those another node has registered since this node's registration of
// them (written into this node's slot all the same, they lose to the
// newer one by its revision), and reports whether one takes over a
// client the index holds connected on another node (takeoverorder.go),
// with from: the cid and the node that held it, of each such takeover.
func (n *Node) weighPut(put []registry.Record) (takeover bool, from []string) {
	held := 0
	n.mu.Lock()
	for _, rec := range put {
		e, ok := n.index.Get(key(rec.CID))
		if !ok || e.node() == n.self {
			continue
		}
		if p, known := n.published[rec.CID]; known && e.rev() > p.rev {
			held++ // the other node took it from this one: not a takeover of ours
			continue
		}
		if rec.CStatus && e.connected() {
			takeover = true
			from = append(from, rec.CID, n.holderLocked(e))
		}
	}
	n.mu.Unlock()
	if held > 0 {
		n.metrics.writes.WithLabelValues(writeSkip).Add(float64(held))
	}
	return takeover, from
}

// logTakeovers logs each takeover of from (weighPut's) with the node that
// held the client, once its registration is written: the reactor's
// "client registered" line could not say, as only the index knows, and
// the other node's line names this one. Logged before the write, a flush
// that failed (NATS away) said it again at every retry, every flush
// interval for as long as the outage lasted.
func (n *Node) logTakeovers(from []string) {
	for i := 0; i < len(from); i += 2 {
		if ce := n.log.Check(zap.InfoLevel, "cluster: client taken over from another node"); ce != nil {
			ce.Write(zap.String("cid", from[i]), zap.String("from_node", from[i+1]))
		}
	}
}
