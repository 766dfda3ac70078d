package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
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
// every slot they changed, each once (writeSlots). On a failure the
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
	n.countHeldElsewhere(put)
	n.mu.Lock()
	for s := range n.forced {
		o.slot(s).dirty = true
		delete(n.forced, s)
	}
	n.mu.Unlock()
	defer n.backlog.begin(len(put))()
	return n.writeSlotsLocked()
}

// countHeldElsewhere counts the records of put that another node has
// registered since this node's registration of them: written into this
// node's slot all the same, they lose to the newer one by its revision.
func (n *Node) countHeldElsewhere(put []registry.Record) {
	held := 0
	n.mu.Lock()
	for _, rec := range put {
		p, known := n.published[rec.CID]
		if !known {
			continue
		}
		if e, ok := n.index.Get(key(rec.CID)); ok && e.node() != n.self && e.rev() > p.rev {
			held++
		}
	}
	n.mu.Unlock()
	if held > 0 {
		n.metrics.writes.WithLabelValues(writeSkip).Add(float64(held))
	}
}

// inflightSlot is one slot write awaiting its acknowledgement.
type inflightSlot struct {
	slot uint16
	f    jetstream.PubAckFuture
	sent time.Time
}

// writeSlotsLocked publishes every dirty slot of this node, up to
// publishWindow at once, each with the compare-and-set of its key (over
// this node's last write of it): a survivor's marks are never written
// over unseen. Slots that only gained records go first, slots that lost
// some after them, so that a watcher never drops a record moving between
// two slots before it has its new place. A slot whose compare-and-set
// lost is read and written again over what is there (resync). o.mu must
// be held.
func (n *Node) writeSlotsLocked() error {
	dirty := n.own.dirtyInWriteOrder()
	if len(dirty) == 0 {
		return nil
	}
	if !n.natsConnected() {
		return ErrNATSDown
	}
	p, err := n.publisherOf()
	if err != nil {
		return fmt.Errorf("cluster: jetstream: %w", err)
	}
	w := slotWindow{n: n}
	for _, s := range dirty {
		if w.first != nil {
			break
		}
		w.publish(p, s)
	}
	for len(w.q) > 0 {
		w.settle()
	}
	if w.first != nil {
		return w.first
	}
	for _, s := range w.retry {
		if err := n.resyncSlot(p, s); err != nil {
			n.own.slots[s].dirty = true
			n.metrics.writes.WithLabelValues(writeErr).Inc()
			return err
		}
	}
	return nil
}

// dirtyInWriteOrder is the dirty slots, those that only gained records
// first, each group in slot order.
func (o *ownSlots) dirtyInWriteOrder() []uint16 {
	dirty := make([]uint16, 0, 8)
	for s, sl := range o.slots {
		if sl.dirty {
			dirty = append(dirty, s)
		}
	}
	slices.SortFunc(dirty, func(a, b uint16) int {
		ra, rb := len(o.slots[a].removed) > 0, len(o.slots[b].removed) > 0
		switch {
		case ra == rb:
			return int(a) - int(b)
		case rb:
			return -1
		}
		return 1
	})
	return dirty
}

// slotWindow is one writeSlotsLocked's slot writes awaiting their
// acknowledgements (at most publishWindow), the slots whose
// compare-and-set lost, and the first error.
type slotWindow struct {
	n     *Node
	q     []inflightSlot
	retry []uint16
	first error
}

// publish sends slot s's write, settling the oldest once the window is full.
func (w *slotWindow) publish(p *publisher, s uint16) {
	n, o := w.n, &w.n.own
	if h := n.opts.beforeSlotWrite; h != nil {
		h(o.writes)
	}
	o.writes++
	f, err := n.publishSlot(p, s, o.slots[s].lastSeq)
	if err != nil {
		n.metrics.writes.WithLabelValues(writeErr).Inc()
		w.first = err
		return
	}
	o.slots[s].dirty = false
	w.q = append(w.q, inflightSlot{slot: s, f: f, sent: time.Now()})
	n.metrics.inflight.Inc()
	if len(w.q) >= publishWindow {
		w.settle()
	}
}

// settle waits for the oldest write's acknowledgement.
func (w *slotWindow) settle() {
	in := w.q[0]
	w.q = w.q[1:]
	w.n.metrics.inflight.Dec()
	conflict, err := w.n.settleSlot(in)
	switch {
	case conflict:
		w.retry = append(w.retry, in.slot)
	case err != nil:
		w.n.own.slots[in.slot].dirty = true
		if w.first == nil {
			w.first = err
		}
	}
}

// slotValueLocked is slot s's value to write: its records, less the
// disconnected ones older than the retention (the bucket would have aged
// them out on their own), and the cids removed since its last write.
func (n *Node) slotValueLocked(s uint16) ([]byte, error) {
	o := &n.own
	sl := o.slots[s]
	if r := n.opts.retention; r > 0 {
		now := time.Now()
		for cid, rec := range sl.recs {
			if !rec.Rec.CStatus && now.Sub(rec.Rec.DisconnectedAt) > r {
				o.remove(cid)
				n.forget(cid)
			}
		}
	}
	v := slotValue{Records: make([]slotRecord, 0, len(sl.recs)), Removed: sl.removed}
	for _, rec := range sl.recs {
		v.Records = append(v.Records, *rec)
	}
	return encodeSlot(make([]byte, 0, 64+96*len(v.Records)), v)
}

// publishSlot sends slot s with the compare-and-set of expect (0: the key
// must have no value).
func (n *Node) publishSlot(p *publisher, s uint16, expect uint64) (jetstream.PubAckFuture, error) {
	val, err := n.slotValueLocked(s)
	if err != nil {
		return nil, err
	}
	m := &nats.Msg{Subject: p.prefix + slotKey(n.id, s), Data: val, Header: nats.Header{hdrWriter: []string{n.id}}}
	f, err := p.js.PublishMsgAsync(m, jetstream.WithExpectLastSequencePerSubject(expect))
	if err != nil {
		return nil, fmt.Errorf("cluster: write slot %d: %w", s, err)
	}
	return f, nil
}

// settleSlot waits for w's acknowledgement and notes the write (wroteSlot);
// conflict says the compare-and-set lost.
func (n *Node) settleSlot(w inflightSlot) (conflict bool, err error) {
	select {
	case ack := <-w.f.Ok():
		n.metrics.ackSeconds.Observe(time.Since(w.sent).Seconds())
		n.wroteSlot(w.slot, ack.Sequence)
		return false, nil
	case err = <-w.f.Err():
	case <-time.After(2 * n.opts.opTimeout): // the publisher's own timeout failed to fire
		err = jetstream.ErrAsyncPublishTimeout
	}
	if isConflict(err) {
		return true, nil
	}
	n.metrics.writes.WithLabelValues(writeErr).Inc()
	return false, fmt.Errorf("cluster: write slot %d: %w", w.slot, err)
}

// wroteSlot notes this node's write of slot s at seq: the registrations in
// it now have that revision, the removals are said, and each record's
// publication is noted for the takeover check (wrote). o.mu is held.
func (n *Node) wroteSlot(s uint16, seq uint64) {
	sl := n.own.slots[s]
	sl.lastSeq, sl.wroteAt, sl.removed = seq, time.Now(), nil
	n.metrics.writes.WithLabelValues(writeOK).Inc()
	for _, rec := range sl.recs {
		if rec.RegRev == 0 {
			rec.RegRev = seq
		}
		n.wrote(rec.Rec, rec.RegRev)
	}
}

// resyncSlot writes slot s over whatever its key holds now: another node's
// marks (it judged this node lost), or this node's own write whose
// acknowledgement was lost (its registrations then keep that write's
// revision). A few tries, as the marks may still be coming.
func (n *Node) resyncSlot(p *publisher, s uint16) error {
	sl := n.own.slots[s]
	for attempt := 0; attempt < 5; attempt++ {
		seq, v, writer, err := n.lastSlot(n.id, s)
		if err != nil {
			return err
		}
		if writer == n.id {
			n.adoptRegRevs(sl, v, seq)
		} else {
			n.answerMarks(s, sl, v, seq)
		}
		f, err := n.publishSlot(p, s, seq)
		if err != nil {
			return err
		}
		conflict, err := n.settleSlot(inflightSlot{slot: s, f: f, sent: time.Now()})
		if !conflict {
			return err
		}
	}
	return fmt.Errorf("cluster: write slot %d: its key kept changing under us", s)
}

// answerMarks counts the live clients of sl that another node's write at
// seq marked disconnected, unless the watch answered that write first.
func (n *Node) answerMarks(s uint16, sl *ownSlot, v slotValue, seq uint64) {
	n.mu.Lock()
	answered := n.marksAnswered[s] >= seq
	if !answered {
		n.marksAnswered[s] = seq
	}
	n.mu.Unlock()
	if answered {
		return
	}
	k, first := 0, ""
	for _, r := range v.Records {
		mine := sl.recs[r.Rec.CID]
		if mine != nil && mine.Rec.CStatus && !r.Rec.CStatus &&
			mine.Rec.SID == r.Rec.SID && mine.Rec.ConnectedAt.Equal(r.Rec.ConnectedAt) {
			k++
			first = r.Rec.CID
		}
	}
	if k > 0 {
		n.noteRepublished(first, k)
	}
}

// adoptRegRevs: the bucket holds this node's own write of sl at seq that
// it never had the acknowledgement of; the registrations it carried have
// seq as their revision, as every watcher saw.
func (n *Node) adoptRegRevs(sl *ownSlot, v slotValue, seq uint64) {
	for _, r := range v.Records {
		mine := sl.recs[r.Rec.CID]
		if mine != nil && mine.RegRev == 0 && mine.Rec.SID == r.Rec.SID && mine.Rec.ConnectedAt.Equal(r.Rec.ConnectedAt) {
			if r.RegRev == 0 {
				mine.RegRev = seq
			} else {
				mine.RegRev = r.RegRev
			}
		}
	}
}

// lastSlot reads node's slot s as the bucket holds it: its revision (also
// of a delete or an expiry's marker: a compare-and-set goes over those),
// value (empty when deleted or never written) and writer.
func (n *Node) lastSlot(node string, s uint16) (seq uint64, v slotValue, writer string, err error) {
	ctx, cancel := n.opCtx()
	defer cancel()
	m, err := n.stream.GetLastMsgForSubject(ctx, "$KV."+n.opts.clientsBucket+"."+slotKey(node, s))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, slotValue{}, "", nil
	}
	if err != nil {
		return 0, slotValue{}, "", fmt.Errorf("cluster: read slot %d of %s: %w", s, node, err)
	}
	if isDeleteOrMarker(m.Header) || len(m.Data) == 0 {
		return m.Sequence, slotValue{}, m.Header.Get(hdrWriter), nil
	}
	v, err = decodeSlot(m.Data, node)
	if err != nil {
		// Not ours to read (a newer build's): written over, as this node
		// holds the truth of its own records.
		n.log.Warn("cluster: undecodable slot value; writing this node's records over it",
			zap.Uint16("slot", s), zap.Error(err))
		return m.Sequence, slotValue{}, "", nil
	}
	return m.Sequence, v, m.Header.Get(hdrWriter), nil
}

// loadOwnSlots takes over what an earlier run of this node left in the
// bucket (the initial values of its own slots): its connected records are
// written "server restarted", and the slots are this node's to write on.
func (n *Node) loadOwnSlots(init map[uint16]initialSlot) {
	o := &n.own
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now().UTC()
	var marked []registry.Record
	for s, is := range init {
		sl := o.slot(s)
		sl.lastSeq = is.seq
		for _, r := range is.value.Records {
			r := r
			if r.RegRev == 0 {
				r.RegRev = is.seq
			}
			if r.Rec.CStatus {
				r.Rec.CStatus, r.Rec.Reason, r.Rec.DisconnectedAt = false, protocol.ReasonServerRestarted, now
				marked = append(marked, r.Rec)
				sl.dirty = true
			}
			sl.recs[r.Rec.CID] = &r
			o.where[r.Rec.CID] = s
		}
	}
	if err := n.writeSlotsLocked(); err != nil {
		n.log.Warn("cluster: could not mark the records of an earlier run; they go with the next flush", zap.Error(err))
		return
	}
	if len(marked) > 0 {
		n.log.Info("cluster: records of an earlier run marked", zap.Int("records", len(marked)))
	}
	if n.opts.changes != nil {
		for _, rec := range marked {
			n.opts.changes(registry.Change{Kind: registry.ChangeDisconnected, At: now, Record: rec})
		}
	}
}

// initialSlot is one of this node's slots as its first watch found it.
type initialSlot struct {
	seq   uint64
	value slotValue
}

// readSlots reads the last value of each slot in refs: one batched direct
// get (nats-server 2.11 or later), else fetchParallel reads at a time.
func (n *Node) readSlots(ctx context.Context, refs []slotRef) map[slotRef]slotRead {
	out := make(map[slotRef]slotRead, len(refs))
	prefix := "$KV." + n.opts.clientsBucket + "."
	subjects := make([]string, len(refs))
	at := make(map[string]slotRef, len(refs))
	for i, r := range refs {
		subjects[i] = prefix + slotKey(r.node, r.slot)
		at[subjects[i]] = r
	}
	var mu sync.Mutex
	put := func(r slotRef, m *jetstream.RawStreamMsg, err error) {
		var sr slotRead
		switch {
		case err != nil:
			sr.err = err
		case m == nil || isDeleteOrMarker(m.Header):
		default:
			sr.seq = m.Sequence
			sr.value, sr.err = decodeSlot(m.Data, r.node)
		}
		mu.Lock()
		out[r] = sr
		mu.Unlock()
	}
	if len(refs) > 1 {
		if err := n.readSlotsBatch(ctx, subjects, at, put); err == nil {
			return out
		}
	}
	sem := make(chan struct{}, fetchParallel)
	var wg sync.WaitGroup
	for i, r := range refs {
		if _, done := out[r]; done {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m, err := n.stream.GetLastMsgForSubject(ctx, subjects[i])
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				m, err = nil, nil
			}
			if err != nil {
				err = fmt.Errorf("%w: bucket: %v", registry.ErrUnavailable, err)
			}
			put(r, m, err)
		}()
	}
	wg.Wait()
	return out
}

// slotRef names one slot of one node.
type slotRef struct {
	node string
	slot uint16
}

// slotRead is one slot as read: value empty and seq 0 when the key has no
// value.
type slotRead struct {
	seq   uint64
	value slotValue
	err   error
}

// find is cid's record in the slot, if it holds one.
func (r slotRead) find(cid string) (slotRecord, bool) {
	for _, rec := range r.value.Records {
		if rec.Rec.CID == cid {
			return rec, true
		}
	}
	return slotRecord{}, false
}

func isDeleteOrMarker(h nats.Header) bool {
	if op := h.Get(hdrKVOperation); op == "DEL" || op == "PURGE" {
		return true
	}
	return h.Get(hdrMarkerReason) != ""
}
