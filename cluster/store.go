package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/registry"
)

// FlushInterval is the registry's flush interval in cluster mode (a
// single node's is 250 ms). A registration is visible on the other nodes
// only once flushed, and the wait for the next flush was most of that
// time: half the interval on average, the whole interval at worst. A
// flush with nothing to write costs no NATS round trip, and under a
// backlog flushes run back to back whatever the interval, so the shorter
// interval costs little but the flusher's waking.
const FlushInterval = 50 * time.Millisecond

// Store returns the registry.Store that writes this node's records to the
// clients bucket. The registry calls it only from its flusher, behind the
// hot path: a handshake never waits on NATS.
func (n *Node) Store() registry.Store { return (*store)(n) }

type store Node

// Load returns nothing: in cluster mode the records live in the bucket,
// which the node mirrors; the node's own leftovers of an earlier run are
// marked by Start.
func (s *store) Load() ([]registry.Record, error) { return nil, nil }

// Close does nothing: the node is closed by its owner.
func (s *store) Close() error { return nil }

// Save writes each changed record with a compare-and-set on the revision
// this node last wrote, so that it never clobbers a registration another
// node published since: see write and saveAsync (a window of records per
// round trip). On a failure the registry keeps the whole batch pending,
// and records already written are written again, harmlessly, with the
// next flush.
func (s *store) Save(put []registry.Record, gone []string) error {
	n := (*Node)(s)
	for _, cid := range gone {
		if err := n.remove(cid); err != nil {
			return err
		}
	}
	return n.saveAsync(put)
}

// write publishes rec, the record of a session this node holds or held.
// The rule that makes takeover race-free: a write of a session this node
// has not published yet (a new registration) goes over whatever is there,
// so its revision is the newest; any other write (keep-alive checkpoint,
// disconnect) goes only over this node's own last write. When another node
// wrote since, that node's registration is newer and this node's session,
// if still up, is closed by the watch with 190 replaced (see takeover).
func (n *Node) write(rec registry.Record) error {
	val, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	key := keyOf(rec.CID)
	n.mu.Lock()
	last, known := n.published[rec.CID]
	n.mu.Unlock()
	ctx, cancel := n.opCtx()
	defer cancel()
	if known {
		rev, err := n.clients.Update(ctx, key, val, last.rev)
		if done, err := n.settled(rec, rev, err); done {
			return err
		}
	}
	if !known {
		// Most often a client new to the cluster: one round trip.
		rev, err := n.clients.Create(ctx, key, val)
		if done, err := n.settled(rec, rev, err); done {
			return err
		}
	}
	fresh := rec.CStatus && !(known && last.session(rec))
	for attempt := 0; attempt < 5; attempt++ {
		cur, err := n.clients.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			rev, err := n.clients.Create(ctx, key, val)
			if done, err := n.settled(rec, rev, err); done {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("cluster: write %s: %w", rec.CID, err)
		}
		other, err := decodeRecord(cur.Value())
		if !fresh && (err != nil || other.Node != n.id) {
			// Another node registered it since: its write stands. A record
			// this build can not read at all is taken for another node's
			// too (a newer version's): only a new registration goes over it.
			n.log.Debug("cluster: record held by another node; not written",
				zap.String("cid", rec.CID), zap.String("holder", other.Node), zap.NamedError("undecodable", err))
			n.forget(rec.CID)
			n.metrics.writes.WithLabelValues(writeSkip).Inc()
			return nil
		}
		rev, err := n.clients.Update(ctx, key, val, cur.Revision())
		if isConflict(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cluster: write %s: %w", rec.CID, err)
		}
		if !fresh && rec.CStatus && !other.CStatus {
			// Another node marked this live session disconnected, and this
			// write (a checkpoint's, most often) says it again before the
			// watch brought the mark: a republication all the same.
			n.metrics.republished.Inc()
		}
		n.wrote(rec, rev)
		return nil
	}
	return fmt.Errorf("cluster: write %s: the record kept changing under us", rec.CID)
}

// settled is the tail of each create or update of write: on success it
// notes the write (wrote); a conflict is not the end (false), so write
// looks again; any other error ends the write.
func (n *Node) settled(rec registry.Record, rev uint64, err error) (done bool, _ error) {
	switch {
	case err == nil:
		n.wrote(rec, rev)
		return true, nil
	case isConflict(err):
		return false, nil
	default:
		return true, fmt.Errorf("cluster: write %s: %w", rec.CID, err)
	}
}

// wrote notes this node's write of rec at rev, then checks whether the
// index already holds a newer registration from another node, or another
// node's mark of this session: the watch may have delivered either before
// this note was taken (an acknowledgement waits for its window).
func (n *Node) wrote(rec registry.Record, rev uint64) {
	n.metrics.writes.WithLabelValues(writeOK).Inc()
	n.mu.Lock()
	n.published[rec.CID] = published{sid: rec.SID, connectedAt: rec.ConnectedAt, cstatus: rec.CStatus, rev: rev}
	replaced := n.replacedLocked(rec.CID)
	p, marked := n.markedLocked(rec.CID)
	n.mu.Unlock()
	if replaced {
		n.closeReplaced(rec.CID)
	}
	if marked {
		n.republish(rec.CID, p)
	}
}

func (n *Node) forget(cid string) {
	n.mu.Lock()
	delete(n.published, cid)
	n.mu.Unlock()
}

// remove deletes a record the registry pruned, only while it is still this
// node's and disconnected.
func (n *Node) remove(cid string) error {
	n.forget(cid)
	ctx, cancel := n.opCtx()
	defer cancel()
	key := keyOf(cid)
	cur, err := n.clients.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: prune %s: %w", cid, err)
	}
	rec, err := decodeRecord(cur.Value())
	if err != nil || rec.Node != n.id || rec.CStatus {
		return nil
	}
	err = n.clients.Delete(ctx, key, jetstream.LastRevision(cur.Revision()))
	if err != nil && !isConflict(err) {
		return fmt.Errorf("cluster: prune %s: %w", cid, err)
	}
	return nil
}

// isConflict: a compare-and-set lost (the key's last revision is not the
// one expected, or a create found the key).
func isConflict(err error) bool {
	if err == nil {
		return false
	}
	var api interface{ APIError() *jetstream.APIError }
	if errors.As(err, &api) && api.APIError() != nil {
		switch api.APIError().ErrorCode {
		case jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant:
			return true
		}
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}
