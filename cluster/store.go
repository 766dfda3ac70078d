package cluster

import (
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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
// hot path: a handshake never waits on NATS. Safe from any goroutine; the
// Store is called one call at a time, as registry.Store says.
func (n *Node) Store() registry.Store { return (*store)(n) }

type store Node

// Load returns nothing: in cluster mode the records live in the bucket,
// which the node mirrors; the node's own leftovers of an earlier run are
// marked by Start.
func (s *store) Load() ([]registry.Record, error) { return nil, nil }

// Close does nothing: the node is closed by its owner.
func (s *store) Close() error { return nil }

// WhatToFix is what an operator does when writes to the bucket fail.
func (s *store) WhatToFix() string {
	return "bring the NATS servers back within reach of this node and of each other (JetStream needs a quorum); nothing needs a restart"
}

// wrote notes this node's write of rec, registered at regRev, then checks
// whether the index already holds a newer registration from another node:
// the watch may have delivered it before this note was taken (an
// acknowledgement waits for its window).
func (n *Node) wrote(rec registry.Record, regRev uint64) {
	n.mu.Lock()
	n.published[rec.CID] = published{sid: rec.SID, connectedAt: rec.ConnectedAt, cstatus: rec.CStatus, rev: regRev}
	replaced := n.replacedLocked(rec.CID)
	n.mu.Unlock()
	if replaced {
		n.closeReplaced(rec.CID)
	}
}

func (n *Node) forget(cid string) {
	n.mu.Lock()
	delete(n.published, cid)
	n.mu.Unlock()
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
