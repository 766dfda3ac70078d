package cluster

import (
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

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
