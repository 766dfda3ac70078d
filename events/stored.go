package events

import (
	"context"
	"sync"
	"sync/atomic"
)

// storedMark is how far the stream's writer has come: how many of the
// queue's accepted events it has stored, and a channel closed at each
// advance (a broadcast to Stored's waiters).
type storedMark struct {
	n      atomic.Uint64
	urgent atomic.Int32 // Stored calls waiting: the writer does not hold back (hold.go)
	mu     sync.Mutex
	moved  chan struct{}
}

// advance notes k more events stored and wakes the waiters (also for k
// 0: a failed publish, after which they stop waiting).
func (m *storedMark) advance(k int) {
	m.n.Add(uint64(k))
	m.mu.Lock()
	if m.moved != nil {
		close(m.moved)
		m.moved = nil
	}
	m.mu.Unlock()
}

// wait returns once target events are stored; ErrNotStored at once
// while failing says the writes fail, or when done (nil: never) closes
// short of target; ctx's error when it ends first.
func (m *storedMark) wait(ctx context.Context, target uint64, failing *atomic.Bool, done <-chan struct{}) error {
	for {
		moved := m.next()
		switch {
		case m.n.Load() >= target:
			return nil
		case failing.Load():
			return ErrNotStored
		}
		select {
		case <-moved:
		case <-done:
			if m.n.Load() >= target {
				return nil
			}
			return ErrNotStored
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// next is a channel closed at the next advance.
func (m *storedMark) next() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.moved == nil {
		m.moved = make(chan struct{})
	}
	return m.moved
}

// Stored returns once every event appended before the call is stored in
// the stream, so that what the caller does next comes after them in the
// cluster's one order: a node's record of a takeover must not reach the
// node it replaces before the takeover's client.connected is in the log
// (cluster.Node.SetEventBarrier). Meanwhile the writer does not hold back
// for a record backlog (WithHoldWhile), which would wait on the caller.
// It returns ctx's error when ctx ends first, ErrNotStored at once while
// the writer is failing. Safe from any goroutine but an event loop's (it
// waits on NATS).
func (s *Stream) Stored(ctx context.Context) error {
	target := s.q.acceptedCount()
	if s.stored.n.Load() >= target {
		return nil
	}
	s.stored.urgent.Add(1)
	defer s.stored.urgent.Add(-1)
	s.q.signal()
	return s.stored.wait(ctx, target, &s.failing, nil)
}

// Stored returns once every event appended before the call is committed
// to the file (fsynced), so that an answer given after it (an
// operator's ban or credential, admin.API) is not followed by a kill -9
// that keeps the change and loses its event. The writer commits at once,
// its pace (commitEvery) cut short while Stored waits. It returns ctx's error
// when ctx ends first, and ErrNotStored at once while the writes fail
// or once the writer has stopped: the events then wait in memory, as
// Healthy says. Safe from any goroutine but an event loop's.
func (l *Log) Stored(ctx context.Context) error {
	target := l.q.acceptedCount()
	if l.stored.n.Load() >= target {
		return nil
	}
	l.stored.urgent.Add(1)
	defer l.stored.urgent.Add(-1)
	l.urgeWriter()
	return l.stored.wait(ctx, target, &l.failing, l.done)
}
