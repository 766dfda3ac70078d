package identity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
)

// writeTimeout bounds one write to the store: an operator's write
// answers within an admin client's 5 s, 503 when the store did not take
// it (NATS without a quorum takes a write and never acknowledges it).
const writeTimeout = 3 * time.Second

// writeQueue orders every write to the store: an operator's write waits for
// its turn and its result; a flapping ban or an expiry is queued and not
// waited for (it comes from an event loop or the sweep). One queue keeps a
// late write behind from undoing a newer one. Pushing never blocks.
type writeQueue struct {
	mu    sync.Mutex
	ops   []writeOp
	open  bool          // the writer runs: set by Start, cleared when it ends
	ready chan struct{} // signalled when ops grows
}

type writeOp struct {
	what   string
	do     func(context.Context) error
	done   chan error    // nil: nobody waits
	state  *atomic.Int32 // an operator's write: opQueued, opStarted or opAbandoned
	queued time.Time     // when it was pushed
}

// The states of an operator's write. Its request may end (the client gave
// up) while the write waits for its turn: it is then not made, so that an
// answer that said it failed is never undone by the write landing later.
// Once started it is waited for, so that the answer says what the store
// holds.
const (
	opQueued int32 = iota
	opStarted
	opAbandoned
)

func (q *writeQueue) init() { q.ready = make(chan struct{}, 1) }

// push queues op; false when no writer runs (not started, or stopped), so
// a caller never waits for a write that will not happen.
func (q *writeQueue) push(op writeOp) bool {
	q.mu.Lock()
	if !q.open {
		q.mu.Unlock()
		return false
	}
	op.queued = time.Now()
	q.ops = append(q.ops, op)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

func (q *writeQueue) setOpen(open bool) {
	q.mu.Lock()
	q.open = open
	q.mu.Unlock()
}

func (q *writeQueue) take() []writeOp {
	q.mu.Lock()
	defer q.mu.Unlock()
	ops := q.ops
	q.ops = nil
	return ops
}

// write runs do on the store through the queue and waits for it (an
// operator's request); without a store it succeeds at once.
func (s *Service) write(ctx context.Context, what string, do func(context.Context, Store) error) error {
	st := s.opts.store
	if st == nil {
		return nil
	}
	done, state := make(chan error, 1), new(atomic.Int32)
	if !s.wq.push(writeOp{what: what, do: func(ctx context.Context) error { return do(ctx, st) }, done: done, state: state}) {
		return ErrNotReady
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if state.CompareAndSwap(opQueued, opAbandoned) {
			s.abandoned.Add(1)
			return ctx.Err()
		}
		return <-done // started: within writeTimeout
	}
}

// selfApplied reports whether the store applies this node's writes to
// memory itself, in its order (SelfApplier): the operator's writes then
// leave memory alone after they return.
func (s *Service) selfApplied() bool {
	sa, ok := s.opts.store.(SelfApplier)
	return ok && sa.AppliesOwnWrites()
}

// behind queues do and returns at once.
func (s *Service) behind(what string, do func(context.Context, Store) error) {
	st := s.opts.store
	if st == nil {
		return
	}
	if !s.wq.push(writeOp{what: what, do: func(ctx context.Context) error { return do(ctx, st) }}) {
		s.storeErrs.Add(1)
		s.opts.log.Warn("identity: store write dropped: the service is stopped", zap.String("write", what))
	}
}

// runWrites does the queued writes in order until ctx ends, then what is
// still queued. A failed write is logged and counted; the first failure of
// a run of them is a warning, the rest debug, so a dead store does not
// flood the log. An operator's write queued while a write failed is not
// made: it is answered at once with that failure (behindFailure) rather
// than after a wait of its own, so that concurrent writes to a store that
// is away (NATS without a quorum: 3 s each) all answer within an admin
// client's time. The flapping bans and expiries queued behind one (nobody
// waits for them) are tried.
func (s *Service) runWrites(ctx context.Context) {
	var writes loggate.Episode
	var failedAt time.Time // when the last failed write ended
	var failed error
	run := func(ops []writeOp) {
		for _, op := range ops {
			if op.state != nil && !op.state.CompareAndSwap(opQueued, opStarted) {
				s.opts.log.Info("identity: a write was not made: its request ended before its turn", zap.String("write", op.what))
				continue
			}
			if op.state != nil && op.queued.Before(failedAt) {
				s.abandoned.Add(1)
				op.done <- behindFailure(failed)
				continue
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
			err := op.do(wctx)
			cancel()
			if errors.Is(err, ErrNotFound) && op.done != nil {
				op.done <- err // an answer, not a fault: another node's delete of the key landed first
				continue
			}
			if err != nil {
				// Before the answer: a write queued after it is made, and
				// whoever got the answer reads the fault counted.
				failedAt, failed = time.Now(), err
				s.storeErrs.Add(1)
				if op.done == nil { // nobody was told: a note says it
					s.noteWrite(failedAt, err)
				}
			} else {
				s.writeFault.Store(nil)
			}
			if op.done != nil {
				op.done <- err
			}
			switch {
			case err != nil && writes.Fail():
				s.opts.log.Warn("identity: store write failed", zap.String("write", op.what), zap.Error(err))
			case err != nil:
				s.opts.log.Debug("identity: store write failed", zap.String("write", op.what), zap.Error(err))
			case writes.OK():
				s.opts.log.Info("identity: store writes succeed again")
			}
		}
	}
	for {
		select {
		case <-s.wq.ready:
			run(s.wq.take())
		case <-ctx.Done():
			s.wq.setOpen(false) // nothing is queued after this take
			run(s.wq.take())
			return
		}
	}
}

// fault is why and since when something of the store fails.
type fault struct {
	since time.Time
	err   error
}

// noteWrite keeps a failed write for WriteErr: the first failure's time,
// the last one's error.
func (s *Service) noteWrite(at time.Time, err error) {
	since := at
	if f := s.writeFault.Load(); f != nil {
		since = f.since
	}
	s.writeFault.Store(&fault{since: since, err: err})
}

// WriteErr is nil unless a write nobody waited for (a flapping ban, an
// expiry's delete) failed since the store last took one: then since when
// and the last error, for the identity note of /v1/health. An operator's
// write is answered its error instead. The flapping ban is held in memory
// only, and a restart would lose it. Safe from any goroutine.
func (s *Service) WriteErr() error {
	f := s.writeFault.Load()
	if f == nil {
		return nil
	}
	return fmt.Errorf("identity: store writes fail since %s (%v): a flapping ban made meanwhile is held in memory only",
		f.since.UTC().Format(time.RFC3339), f.err)
}

// behindFailure answers an operator's write queued while err's write
// failed: not made.
func behindFailure(err error) error {
	return fmt.Errorf("the store failed the write queued before this one (%w); this one was not made", err)
}
