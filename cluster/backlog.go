package cluster

import (
	"sync/atomic"
	"time"

	"github.com/cliser/cliser/internal/mono"
)

// backlogHold is how long after a large flush the node still counts as
// behind: the registry's next flush comes 50 ms later and carries what
// queued meanwhile, and other writers should not take that gap.
const backlogHold = 150 * time.Millisecond

// backlog tells whether the node's record writes are behind: a flush of
// more than a publish window is under way, or ended under backlogHold
// ago. The event log's writer holds its publishes back meanwhile
// (Backlogged), so that during a reconnect storm the NATS server spends
// itself on the records first: they are the cross-node view that lists,
// routing and takeover read; the events only wait in their queue.
type backlog struct {
	large  atomic.Int32 // large flushes under way (one writer: 0 or 1)
	endsAt atomic.Int64 // when the last large flush ended (mono.Now); 0: none yet
}

// begin notes a flush of n records; the returned func ends it.
func (b *backlog) begin(n int) (end func()) {
	if n <= publishWindow {
		return func() {}
	}
	b.large.Add(1)
	return func() {
		b.endsAt.Store(mono.Now())
		b.large.Add(-1)
	}
}

// Backlogged reports whether this node's record writes are behind (see
// backlog). Safe for concurrent use; it costs two atomic loads and a
// monotonic clock read.
func (n *Node) Backlogged() bool {
	b := &n.backlog
	if b.large.Load() > 0 {
		return true
	}
	ended := b.endsAt.Load()
	return ended != 0 && mono.Since(ended) < backlogHold
}
