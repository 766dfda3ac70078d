package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/natsretry"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// beat renews this node's heartbeat key, waiting at most timeout. The
// nodes bucket's TTL ages it out when the node stops renewing it: that,
// not a message of goodbye, is how the others learn that a node is gone.
// With resend, a put no stream leader got ("no response from stream") is
// sent again within timeout; without, it fails at once, which tells a
// server cut off from the leader soonest.
func (n *Node) beat(timeout time.Duration, resend bool) error {
	// Bound by the node's life too: Close must not wait out a beat that
	// NATS, being away, will never answer.
	ctx, cancel := context.WithTimeout(n.ctx, timeout)
	defer cancel()
	val, _ := json.Marshal(map[string]any{"node": n.id, "at": time.Now().UTC()})
	var rev uint64
	put := func() (err error) {
		rev, err = n.nodes.Put(ctx, keyOf(n.id), val)
		return err
	}
	var err error
	if resend {
		err = natsretry.NoResponders(ctx, put)
	} else {
		err = put()
	}
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	n.lastBeat.Store(rev)
	n.moving.Store(false)
	return nil
}

// claimID refuses an id another live node uses. A heartbeat found under
// this id is either an earlier run's that stopped without removing it (it
// is not renewed and ages out) or a live node's (renewed every third of
// the TTL): watching it for half the TTL tells which. Only a start after
// a crash waits; a clean stop removes its heartbeat.
func (n *Node) claimID() error {
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.heartbeatTTL+n.opts.opTimeout)
	defer cancel()
	key := keyOf(n.id)
	first, err := n.nodes.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	n.log.Info("cluster: a heartbeat under this node id exists; checking that no live node renews it",
		zap.Duration("for", n.opts.heartbeatTTL/2))
	deadline := time.NewTimer(n.opts.heartbeatTTL / 2)
	defer deadline.Stop()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-deadline.C:
			return nil
		case <-poll.C:
		}
		cur, err := n.nodes.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("cluster: heartbeat: %w", err)
		case cur.Revision() != first.Revision():
			return ErrNodeIDInUse
		}
	}
}

// every runs fn each interval until the node closes; call it on a
// goroutine counted in n.wg.
func (n *Node) every(interval time.Duration, fn func()) {
	defer n.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// heartbeatLoop renews the key every third of the TTL, one beat at a
// time, each given up after one interval. A beat NATS took in and never
// answered (it stopped meanwhile) then delays the next by an interval, not
// by the op timeout (5 s, more than a short TTL): a live node renews its
// key within about an interval of NATS answering again, inside the TTL
// the others wait then before judging it (markLost).
func (n *Node) heartbeatLoop() {
	interval := n.opts.heartbeatTTL / 3
	n.every(interval, func() {
		if h := n.opts.beforeBeat; h != nil {
			h()
		}
		err := n.beat(interval, false)
		// Each move goes to the next server of nats.go's pool, so one for
		// each server known is a round of them: a round begun on a healthy
		// server while the stream elects its leader passes the cut-off
		// server and does not end on it, as two of three moves did. Each
		// hop resends for its whole wait, or a round of hops that found no
		// leader would end within a second, maybe on the cut-off server,
		// before the election does.
		for moves := 1; err != nil && moves <= len(n.nc.Servers()) && n.leftCutOffServer(); moves++ {
			err = n.beat(interval/2, true) // on the new server, within the TTL
		}
		if err != nil {
			n.unhealthy(err) // logged once per outage, not once per beat
		}
	})
}

// leftCutOffServer moves the NATS connection to another server when a
// beat failed with it up: a server cut off from its peers (a network cut
// between NATS servers) has no quorum yet answers PINGs, so nats.go would
// stay on it while this node's heartbeat lapses and the others judge its
// live clients lost. Asking the server first does not tell: a cut-off
// server that led the JetStream meta group or the heartbeats' stream
// answers for them until it steps down, seconds later. A beat that failed
// on a healthy server (a stream electing its leader for longer than a
// beat waits) moves the node for nothing, which costs it a reconnect, and
// may land it on the cut-off server: so the heartbeat loop moves again
// while beats fail, a round of the servers known a beat at most: where
// no server has a quorum that bounds the circles. A move that finds no
// other server within a twelfth of a TTL (two of three lost: the one left
// is the only server that answers a dial) stops the moves for a TTL, so
// that the connection is not dropped each beat for nothing. Never with a
// single server known (given or discovered): there is nowhere to go. It
// reports whether the connection is up on another server.
func (n *Node) leftCutOffServer() bool {
	if !n.natsConnected() || n.ctx.Err() != nil || len(n.nc.Servers()) < 2 ||
		time.Now().UnixNano() < n.noMoveUntil.Load() {
		return false
	}
	from := n.nc.ConnectedUrlRedacted()
	n.metrics.leftCutOff.Inc()
	log := n.log.Debug // the first move until a beat is stored is a warning
	if !n.moving.Swap(true) {
		log = n.log.Warn
	}
	log("cluster: a heartbeat failed with the NATS connection up (its server cut off from its peers?); moving to another server",
		zap.String("server", from))
	if err := n.nc.ForceReconnect(); err != nil {
		return false
	}
	if !n.awaitConnected(from, n.opts.heartbeatTTL/12) {
		// Back on the same server, or still dialling: no other server
		// answers (two of three lost). Moving again would only drop the
		// connection each beat; wait a TTL.
		n.noMoveUntil.Store(time.Now().Add(n.opts.heartbeatTTL).UnixNano())
		return false
	}
	return true
}

// awaitConnected waits up to d for the connection to be up on a server
// other than from.
func (n *Node) awaitConnected(from string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && n.ctx.Err() == nil {
		if n.natsConnected() && n.nc.ConnectedUrlRedacted() != from {
			return true
		}
		time.Sleep(5 * time.Millisecond) // a poll's pace
	}
	return false
}

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
	if time.Since(time.Unix(0, since)) < n.opts.heartbeatTTL {
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
			zap.Strings("nodes", marked), zap.Int("alive", len(alive)))
	}
	return nil
}

// reconnected reports whether the NATS connection was re-established
// since the last call, and if so has the watch made again and restarts the
// grace before judging other nodes (restartGrace). The connection's
// reconnect count, read by the check loop alone, and not a reconnect
// handler: nc is the caller's, and it may have its own.
func (n *Node) reconnected() bool {
	r := n.nc.Stats().Reconnects
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

// heldByOthers lists the nodes not in alive that hold connected records.
func (n *Node) heldByOthers(alive map[string]bool) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for node := range n.connectedBy {
		if !alive[node] {
			out = append(out, node)
		}
	}
	return out
}

// confirmLost reads the heartbeat key of each suspect and puts the ones
// that have one back in alive. The key listing misses a key renewed while
// it runs (with one revision kept, the old one is gone before the listing
// reaches it and the new one comes after its end), and a live node's
// clients must not be marked lost for that.
func (n *Node) confirmLost(suspects []string, alive map[string]bool) error {
	ctx, cancel := n.opCtx()
	defer cancel()
	for _, id := range suspects {
		_, err := n.nodes.Get(ctx, keyOf(id))
		switch {
		case err == nil:
			alive[id] = true
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			n.unhealthy(err)
			return fmt.Errorf("cluster: heartbeat of %s: %w", id, err)
		}
	}
	return nil
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
// and those of them that the index holds as the client's current record
// (the others were registered again elsewhere since: no event for them).
func (n *Node) marks(ref slotRef, sr slotRead, reason protocol.Reason, now time.Time) (slotValue, []registry.Record) {
	v := slotValue{Records: make([]slotRecord, len(sr.value.Records))}
	copy(v.Records, sr.value.Records)
	var events []registry.Record
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range v.Records {
		r := &v.Records[i]
		if !r.Rec.CStatus {
			continue
		}
		if r.RegRev == 0 {
			r.RegRev = sr.seq // the registration was that write; say so
		}
		r.Rec.CStatus, r.Rec.Reason, r.Rec.DisconnectedAt = false, reason, now
		if e, ok := n.index.Get(key(r.Rec.CID)); ok && e.rev() == r.RegRev && n.holderLocked(e) == ref.node {
			events = append(events, r.Rec)
		}
	}
	return v, events
}
