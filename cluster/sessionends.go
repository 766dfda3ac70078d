package cluster

import (
	"sync"
	"time"

	"github.com/cliser/cliser/protocol"
)

// A node stopped while NATS was away kept the events it could not publish
// in its spill file (events.WithSpill), among them the ends of its
// sessions. Their records did not reach the bucket either: at the next
// start they are still connected, and marking them "server restarted"
// published a second end of each session; or another node has marked
// them "node lost" meanwhile, and published an end of its own. So Start
// weighs the kept ends against the records: one end per session.

// SessionEnd is how one session of this node's earlier run ended, as its
// stop kept the client.disconnected event.
type SessionEnd struct {
	CID, Session string
	Reason       protocol.Reason
	At           time.Time
}

// sessionEnds is what SetSessionEnds gave, and what Start found of it.
type sessionEnds struct {
	mu        sync.Mutex
	ends      map[sessionKey]SessionEnd
	published map[sessionKey]bool // ended by another node: its event is in the log
}

type sessionKey struct{ cid, session string }

// SetSessionEnds hands Start the session ends the earlier run's stop
// kept: a record still connected in such a session takes that end (its
// reason and time, no event: the kept one is it) rather than "server
// restarted". Call before Start. Safe from any goroutine.
func (n *Node) SetSessionEnds(ends []SessionEnd) {
	m := make(map[sessionKey]SessionEnd, len(ends))
	for _, e := range ends {
		m[sessionKey{e.CID, e.Session}] = e
	}
	n.ends.mu.Lock()
	n.ends.ends = m
	n.ends.mu.Unlock()
}

// EndPublished reports, once Start ran, whether another node already
// ended cid's session (it marked this node's records "node lost"), so
// that the kept end would be a second one. Safe from any goroutine.
func (n *Node) EndPublished(cid, session string) bool {
	n.ends.mu.Lock()
	defer n.ends.mu.Unlock()
	return n.ends.published[sessionKey{cid, session}]
}

// takeEnd applies a kept end to r, a record of this node's earlier run,
// and reports whether it did (r was still connected in that session).
// One already ended another way is noted for EndPublished.
func (n *Node) takeEnd(r *slotRecord) bool {
	n.ends.mu.Lock()
	defer n.ends.mu.Unlock()
	k := sessionKey{r.Rec.CID, r.Rec.Session}
	e, ok := n.ends.ends[k]
	switch {
	case !ok:
		return false
	case r.Rec.CStatus:
		r.Rec.CStatus, r.Rec.Reason, r.Rec.DisconnectedAt = false, e.Reason, e.At.UTC()
		return true
	case r.Rec.Reason != e.Reason:
		if n.ends.published == nil {
			n.ends.published = make(map[sessionKey]bool)
		}
		n.ends.published[k] = true
	}
	return false
}
