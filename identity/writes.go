package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// retried: a write nobody waits for whose caller retries it itself:
	// the writer tries it once, in its turn (behindRetried).
	retried bool
	// endsAt, when set, is when the write stops mattering (a flapping
	// ban's end): a failed one is not tried again after it.
	endsAt time.Time
}

// ended reports whether op no longer needs writing at now.
func (op writeOp) ended(now time.Time) bool {
	return !op.endsAt.IsZero() && !now.Before(op.endsAt)
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

// ownWritesApplied waits until a SelfApplier store's Watch takes this
// node's writes to memory (SelfApplier): at once for any other store.
func (s *Service) ownWritesApplied(ctx context.Context) error {
	sa, ok := s.opts.store.(SelfApplier)
	if !ok || !sa.AppliesOwnWrites() {
		return nil
	}
	select {
	case <-sa.OwnWritesApplied():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// behindUntil queues do and returns at once; the writer tries it again
// until it lands or until passes (runWrites).
func (s *Service) behindUntil(what string, until time.Time, do func(context.Context, Store) error) {
	s.behindOp(writeOp{what: what, endsAt: until}, do)
}

// behindRetried is behind for a write with a retry of its own (the
// expiries' backoff, expiry.go): the writer tries it once, and its
// failure is no memory-only write to note (the ended ban is gone from
// memory and still in the store, which a restart expires again).
func (s *Service) behindRetried(what string, do func(context.Context, Store) error) {
	s.behindOp(writeOp{what: what, retried: true}, do)
}

func (s *Service) behindOp(op writeOp, do func(context.Context, Store) error) {
	st := s.opts.store
	if st == nil {
		return
	}
	op.do = func(ctx context.Context) error { return do(ctx, st) }
	if !s.wq.push(op) {
		what := op.what
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
// client's time. A write nobody waits for (a flapping ban, an expiry)
// that fails is kept and tried again, in order, every retryEvery and
// before any later write, until it lands: a flapping ban made while NATS
// was away lived on this node alone, and its expiry found nothing to
// delete and reported no end (cluster audit). One whose ban has ended is
// dropped unwritten, so the list holds no more than the bans in force
// however long the store stays away.
func (s *Service) runWrites(ctx context.Context) {
	w := writer{s: s, ctx: ctx}
	retry := time.NewTicker(retryEvery)
	defer retry.Stop()
	for {
		select {
		case <-s.wq.ready:
			w.run(s.wq.take())
		case <-retry.C:
			if len(w.pending) > 0 {
				w.retry()
			}
		case <-ctx.Done():
			s.wq.setOpen(false) // nothing is queued after this take
			w.run(s.wq.take())
			if n := len(w.pending); n > 0 {
				s.opts.log.Warn("identity: writes the store never took are dropped at the stop: what they held lived in memory only",
					zap.Int("writes", n), zap.Error(w.failed))
			}
			return
		}
	}
}

// retryEvery is how often the writes the store failed are tried again.
const retryEvery = time.Second

// writer is runWrites' state, on its goroutine alone.
type writer struct {
	s        *Service
	ctx      context.Context
	episode  loggate.Episode
	failedAt time.Time // when the last failed write ended
	failed   error
	pending  []writeOp // writes nobody waits for that the store failed, oldest first
}

func (w *writer) run(ops []writeOp) {
	s := w.s
	for _, op := range ops {
		if op.state != nil && !op.state.CompareAndSwap(opQueued, opStarted) {
			s.opts.log.Info("identity: a write was not made: its request ended before its turn", zap.String("write", op.what))
			continue
		}
		switch {
		case op.done == nil && len(w.pending) > 0:
			w.pending = append(w.pending, op) // behind the ones that failed, in order; the ticker tries them
		case op.done != nil && (op.queued.Before(w.failedAt) || !w.retry()):
			s.abandoned.Add(1)
			op.done <- behindFailure(w.failed)
		default:
			w.do(op)
		}
	}
}

// retry tries the pending writes again, in order, and reports whether
// none is left.
func (w *writer) retry() bool {
	now := time.Now()
	w.pending = slices.DeleteFunc(w.pending, func(op writeOp) bool { return op.ended(now) })
	for len(w.pending) > 0 {
		op := w.pending[0]
		if err := w.try(op); err != nil && !op.retried {
			return false
		}
		w.pending = w.pending[1:] // landed, or its caller tries it again itself
	}
	w.s.writeFault.Store(nil)
	return true
}

// do makes op's write with none pending before it, answers it, and keeps
// it for retry when it failed and nobody waits for it.
func (w *writer) do(op writeOp) {
	err := w.try(op)
	switch {
	case err != nil && op.done == nil && !op.retried:
		w.pending = append(w.pending, op)
	case err == nil && len(w.pending) == 0:
		w.s.writeFault.Store(nil)
	}
	if op.done != nil {
		op.done <- err
	}
}

// try makes one write, counting and logging a failure. ErrNotFound is no
// failure: another node's delete of the key landed first.
func (w *writer) try(op writeOp) error {
	s := w.s
	wctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), writeTimeout)
	err := op.do(wctx)
	cancel()
	switch {
	case errors.Is(err, ErrNotFound):
		if op.done == nil {
			return nil // nothing left to write
		}
		return err // the operator's answer
	case err != nil:
		// Before the answer: a write queued after it is made, and
		// whoever got the answer reads the fault counted.
		w.failedAt, w.failed = time.Now(), err
		s.storeErrs.Add(1)
		if op.done == nil && !op.retried { // nobody was told, and it lives in memory only: a note says it
			s.noteWrite(w.failedAt, err)
		}
		if w.episode.Fail() {
			s.opts.log.Warn("identity: store write failed", zap.String("write", op.what), zap.Error(err))
		} else {
			s.opts.log.Debug("identity: store write failed", zap.String("write", op.what), zap.Error(err))
		}
	case w.episode.OK():
		s.opts.log.Info("identity: store writes succeed again")
	}
	return err
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

// WriteErr is nil unless a write nobody waited for and that no one else
// tries again (a flapping ban) failed since the store last took one, and
// its ban has not ended since (the write is then dropped): then
// since when and the last error, for the identity note of /v1/health. An
// operator's write is answered its error instead, and an expiry's delete
// is tried again on its own backoff and counted in
// cliser_identity_expiries_pending. The flapping ban is held in memory
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
