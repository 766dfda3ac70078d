package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/mono"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

func (n *Node) checkLoop() {
	n.every(n.opts.checkInterval, func() {
		if h := n.opts.beforeCheck; h != nil {
			h()
		}
		if err := n.markLost(); err != nil && n.ctx.Err() == nil {
			n.log.Debug("cluster: lost-node check failed", zap.Error(err)) // unhealthy logged it
		}
	})
}

// aliveNodes lists the nodes whose heartbeat key has not aged out,
// waiting at most timeout.
func (n *Node) aliveNodes(timeout time.Duration) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	lister, err := n.nodes.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: list nodes: %w", err)
	}
	alive := make(map[string]bool)
	for key := range lister.Keys() {
		if id, err := idOf(key); err == nil {
			alive[id] = true
		}
	}
	known := maps.Clone(alive)
	n.aliveKnown.Store(&known)
	return alive, nil
}

// markLost turns the connected records of every node without a heartbeat
// into cstatus=false, reason "node lost". Each write is a compare-and-set
// on the revision of the lost node's slot as read: when several survivors
// do it at once, one wins and the others' writes fail harmlessly; when
// the client has registered again meanwhile, its new record stands (a
// higher registration revision).
func (n *Node) markLost() error {
	n.reconnected()
	if !n.natsConnected() {
		n.unhealthy(nats.ErrConnectionReconnecting)
		return nil
	}
	alive, err := n.aliveNodes(n.opts.opTimeout)
	if err != nil {
		n.unhealthy(err)
		return err
	}
	n.healthy()
	since := n.healthySince.Load()
	if since == 0 {
		return nil // a beat failed meanwhile
	}
	alive[n.id] = true
	n.aliveSeen.Store(int64(len(alive)))
	if mono.Since(since) < n.opts.heartbeatTTL {
		return nil
	}
	suspects := n.heldByOthers(alive)
	if len(suspects) == 0 {
		return nil // the usual case: no scan of the mirror
	}
	if err := n.confirmLost(suspects, alive); err != nil {
		return err
	}
	if n.reconnected() {
		return nil // this check's reads may have come after the blip
	}
	marked := n.markWhere(protocol.ReasonNodeLost, func(node string) bool { return !alive[node] })
	if len(marked) > 0 {
		n.metrics.markedLost.Add(float64(len(marked)))
		n.log.Info("cluster: records of lost nodes marked", zap.Int("records", len(marked)),
			zap.Strings("nodes", distinct(marked)), zap.Int("alive", countTrue(alive)))
	}
	return nil
}

// reconnected reports whether the NATS connection was re-established
// since the last call, and if so has the watch made again and restarts the
// grace before judging other nodes (restartGrace). n.reconnects is read
// by the check loop alone.
func (n *Node) reconnected() bool {
	r := n.link.Reconnects()
	if r == n.reconnects {
		return false
	}
	n.reconnects = r
	select {
	case n.rewatch <- struct{}{}:
	default:
	}
	n.restartGrace()
	return true
}

// heldByOthers lists the nodes not in alive that hold connected records,
// superseded ones included.
func (n *Node) heldByOthers(alive map[string]bool) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for node := range n.connectedBy {
		if !alive[node] {
			out = append(out, node)
		}
	}
	for ref := range n.superseded {
		if !alive[ref.node] && !slices.Contains(out, ref.node) {
			out = append(out, ref.node)
		}
	}
	return out
}

// confirmLost reads the heartbeat key of each suspect and puts the ones
// that have one back in alive. The key listing misses a key renewed while
// it runs (with one revision kept, the old one is gone before the listing
// reaches it and the new one comes after its end), and a live node's
// clients must not be marked lost for that. The read is one only the
// bucket's stream leader answers (leaderBeat).
func (n *Node) confirmLost(suspects []string, alive map[string]bool) error {
	ctx, cancel := n.opCtx()
	defer cancel()
	for _, id := range suspects {
		rev, err := n.leaderBeat(ctx, id)
		if err != nil {
			n.unhealthy(err)
			return fmt.Errorf("cluster: heartbeat of %s: %w", id, err)
		}
		alive[id] = alive[id] || rev > 0
	}
	return nil
}

// leaderBeat is the revision of node id's beat as the nodes bucket's
// stream leader holds it (leaderRead), 0 when it has none.
func (n *Node) leaderBeat(ctx context.Context, id string) (uint64, error) {
	c, err := leaderRead(ctx, n.nc, n.opts.nodesBucket, keyOf(id))
	if err != nil || c == nil || c.op != jetstream.KeyValuePut {
		return 0, err
	}
	return c.rev, nil
}

// markWhere disconnects, with reason, the connected records of the
// holders pick selects. The index names their slots; each slot is read
// from the bucket and its marks written with a compare-and-set on the
// revision read (so of two survivors one wins, and a slot its node wrote
// meanwhile is left to it), a window of slots at a time (markSlots). It
// returns the nodes of the records it marked, one entry per record.
func (n *Node) markWhere(reason protocol.Reason, pick func(node string) bool) []string {
	refs := n.connectedSlots(pick)
	var marked []string
	for start := 0; start < len(refs) && n.ctx.Err() == nil; start += publishWindow {
		marked = n.markSlots(refs[start:min(start+publishWindow, len(refs))], reason, pick, marked)
	}
	return marked
}

// markedSlot is one slot's marks in flight.
type markedSlot struct {
	f      jetstream.PubAckFuture
	events []registry.Record // the marked records the index has as current
}

// markSlots marks one window of markWhere's slots. A compare-and-set that
// lost (the node wrote the slot again, or another survivor marked it
// first) is left as it is; any other failure is logged once per window
// and tried again by the next check, which finds the records still
// connected.
func (n *Node) markSlots(refs []slotRef, reason protocol.Reason, pick func(string) bool, marked []string) []string {
	p, err := n.publisherOf()
	if err != nil {
		n.log.Warn("cluster: could not mark records", zap.Error(err))
		return marked
	}
	ctx, cancel := n.opCtx()
	defer cancel()
	now := time.Now().UTC()
	inflight, failed := n.publishMarks(ctx, p, refs, reason, pick, now)
	marked, ackFailed := n.awaitMarks(ctx, inflight, now, marked)
	if ackFailed != nil {
		failed = ackFailed
	}
	if failed != nil && n.ctx.Err() == nil {
		n.log.Warn("cluster: could not mark every record", zap.Int("slots", len(refs)), zap.Error(failed))
	}
	return marked
}

// publishMarks reads the slots of refs and publishes the marks of those
// pick selects, each a compare-and-set on the revision read. It returns
// the marks in flight and the last failure; a failed publish stops it.
func (n *Node) publishMarks(ctx context.Context, p *publisher, refs []slotRef, reason protocol.Reason,
	pick func(string) bool, now time.Time,
) ([]markedSlot, error) {
	var inflight []markedSlot
	var failed error
	slots := n.readSlots(ctx, refs)
	for _, ref := range refs {
		sr := slots[ref]
		if sr.err != nil {
			failed = sr.err
			continue
		}
		if !pick(ref.node) || sr.seq == 0 {
			continue
		}
		v, events := n.marks(ref, sr, reason, now)
		if len(events) == 0 {
			continue
		}
		val, err := encodeSlot(nil, v)
		if err != nil {
			failed = err
			continue
		}
		m := &nats.Msg{Subject: p.prefix + slotKey(ref.node, ref.slot), Data: val, Header: nats.Header{hdrWriter: []string{n.id}}}
		fut, err := p.js.PublishMsgAsync(m, jetstream.WithExpectLastSequencePerSubject(sr.seq))
		if err != nil {
			return inflight, err
		}
		inflight = append(inflight, markedSlot{f: fut, events: events})
	}
	return inflight, failed
}

// awaitMarks waits for each mark in flight and appends the node of each
// record whose mark was stored to marked. A lost compare-and-set is no
// failure; it returns the last other failure.
func (n *Node) awaitMarks(ctx context.Context, inflight []markedSlot, now time.Time, marked []string) ([]string, error) {
	var failed error
	for _, w := range inflight {
		select {
		case <-w.f.Ok():
			for _, rec := range w.events {
				marked = append(marked, rec.Node)
				// Only the node whose compare-and-set won says it, so the
				// cluster's log has it once, with the lost node's name.
				if n.opts.changes != nil {
					n.opts.changes(registry.Change{Kind: registry.ChangeDisconnected, At: now, Record: rec})
				}
			}
		case err := <-w.f.Err():
			if !isConflict(err) {
				failed = err
			}
		case <-ctx.Done():
			failed = ctx.Err()
		}
	}
	return marked, failed
}

// marks is sr's value with its connected records disconnected for reason,
// and those of them that end a session: the ones the index holds as the
// client's current record, and the ones a registration on another node
// superseded, whose holder never said "replaced" (superseded.go). A
// superseded one of the same node was replaced there, with its event.
func (n *Node) marks(ref slotRef, sr slotRead, reason protocol.Reason, now time.Time) (slotValue, []registry.Record) {
	v := slotValue{Records: make([]slotRecord, len(sr.value.Records))}
	copy(v.Records, sr.value.Records)
	var events []registry.Record
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range v.Records {
		r := &v.Records[i]
		// The registration was that write; say so, of a record gone before
		// it too: left 0 in this write, it took the mark's revision, a
		// registration newer than the client's on another node (the list
		// showed it disconnected there, and flapping counted it again).
		if r.RegRev == 0 {
			r.RegRev = sr.seq
		}
		if !r.Rec.CStatus {
			continue
		}
		r.Rec.CStatus, r.Rec.Reason, r.Rec.DisconnectedAt = false, reason, now
		e, ok := n.index.Get(key(r.Rec.CID))
		current := ok && e.rev() == r.RegRev && n.holderLocked(e) == ref.node
		if current || ok && e.rev() > r.RegRev && n.holderLocked(e) != ref.node {
			events = append(events, r.Rec)
		}
	}
	return v, events
}

// distinct is names sorted, each once: the lost nodes of a mark, one name
// a record (65,535 of them for one full node) in the log line before.
func distinct(names []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(names)))
}

// countTrue is how many nodes alive says are: confirmLost adds those it
// found lost as false, which the log line counted as alive.
func countTrue(alive map[string]bool) int {
	k := 0
	for _, ok := range alive {
		if ok {
			k++
		}
	}
	return k
}
