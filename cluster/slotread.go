package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

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
// written "server restarted" (or as the spill file says they ended), and
// the slots are this node's to write on.
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
			switch {
			case n.takeEnd(&r): // its end is in the spill file (sessionends.go)
				sl.dirty = true
			case r.Rec.CStatus:
				r.Rec.CStatus, r.Rec.Reason, r.Rec.DisconnectedAt = false, protocol.ReasonServerRestarted, now
				marked = append(marked, r.Rec)
				sl.dirty = true
			}
			sl.recs[r.Rec.CID] = &r
			o.where[r.Rec.CID] = s
		}
	}
	n.restarted.Add(int64(len(marked))) // those sessions ended, written yet or not
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

// Restarted is how many sessions of an earlier run of this node its start
// marked "server restarted" (loadOwnSlots). Safe from any goroutine.
func (n *Node) Restarted() int { return int(n.restarted.Load()) }

// initialSlot is one of this node's slots as its first watch found it.
type initialSlot struct {
	seq   uint64
	value slotValue
}

// readSlots reads the last value of each slot in refs: one batched direct
// get (nats-server 2.11 or later), else fetchParallel reads at a time.
func (n *Node) readSlots(ctx context.Context, refs []slotRef) map[slotRef]slotRead {
	reads := &slotReads{out: make(map[slotRef]slotRead, len(refs))}
	prefix := "$KV." + n.opts.clientsBucket + "."
	subjects := make([]string, len(refs))
	at := make(map[string]slotRef, len(refs))
	for i, r := range refs {
		subjects[i] = prefix + slotKey(r.node, r.slot)
		at[subjects[i]] = r
	}
	if len(refs) > 1 && !n.opts.noBatchGet {
		if err := n.readSlotsBatch(ctx, subjects, at, reads.put); err == nil {
			return reads.out
		}
	}
	n.readEachSlot(ctx, refs, subjects, reads.missing(refs), reads.put)
	return reads.out
}

// slotReads gathers readSlots' answers, put from several goroutines.
type slotReads struct {
	mu  sync.Mutex
	out map[slotRef]slotRead
}

// put records r's read: its value, none (no message, or a delete), or err.
func (s *slotReads) put(r slotRef, m *jetstream.RawStreamMsg, err error) {
	var sr slotRead
	switch {
	case err != nil:
		sr.err = err
	case m == nil || isDeleteOrMarker(m.Header):
	default:
		sr.seq = m.Sequence
		sr.value, sr.err = decodeSlot(m.Data, r.node)
	}
	s.mu.Lock()
	s.out[r] = sr
	s.mu.Unlock()
}

// missing are the indexes in refs of the slots not yet read (the batch
// left them unanswered), picked before any read of them starts: the reads
// write out as they answer.
func (s *slotReads) missing(refs []slotRef) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var todo []int
	for i, r := range refs {
		if _, done := s.out[r]; !done {
			todo = append(todo, i)
		}
	}
	return todo
}

// readEachSlot reads the slots refs[i] for i in todo one request each,
// fetchParallel at a time, and puts each answer.
func (n *Node) readEachSlot(ctx context.Context, refs []slotRef, subjects []string, todo []int,
	put func(slotRef, *jetstream.RawStreamMsg, error)) {
	sem := make(chan struct{}, fetchParallel)
	var wg sync.WaitGroup
	for _, i := range todo {
		r := refs[i]
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
