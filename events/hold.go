package events

import "time"

// maxHold is the longest the stream's writer holds its events back for a
// backlog of another writer before it publishes one chunk (publishChunk
// events) anyway: the events are delayed, never starved (the queue is
// bounded).
const maxHold = 2 * time.Second

// holdPoll is how often a holding writer looks again.
const holdPoll = 5 * time.Millisecond

// WithHoldWhile makes the writer hold its publishes back while behind()
// says another writer on the same NATS server is behind, for up to
// maxHold at a time: in a cluster, the node's record writes go first
// (cluster.Node.Backlogged). Events wait in the queue meanwhile, in order.
func WithHoldWhile(behind func() bool) StreamOption {
	return func(o *streamOptions) { o.holdWhile = behind }
}

// hold waits while the other writer is behind (see WithHoldWhile), up to
// maxHold, until the log closes or a Stored call waits on the writer.
func (s *Stream) hold() {
	behind := s.sopts.holdWhile
	if behind == nil || s.stored.urgent.Load() > 0 || !behind() {
		return
	}
	s.m.holds.Inc()
	deadline := time.Now().Add(maxHold)
	for behind() && s.stored.urgent.Load() == 0 && time.Now().Before(deadline) && !s.q.isClosed() {
		time.Sleep(holdPoll)
	}
}
