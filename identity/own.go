package identity

import "context"

// An operator's change closes sessions (a ban those it matches, a
// credential's delete its client's), and its event must come first:
// EVENTS.md keeps one client ID's events in the order they happened, and
// the disconnect is caused by the change. The node that makes a change
// reports it once its write has returned, and then closes. In cluster
// mode the store hands this node's own change back too (its notice, its
// watch), often before the write returns; that echo holds the change at
// once but leaves the closing to the write in flight, which closes after
// its event (or, if its write answered failure though the store took the
// change, closes without one).

// ownKey names the store key an operator's write on this node changes.
type ownKey = ChangeKey

func ownBan(k BanKey) ownKey    { return ownKey{Ban: k} }
func ownCred(cid string) ownKey { return ownKey{Credential: true, Ban: BanKey{Value: cid}} }

// ownWrite is the writes of one key in flight on this node, and the close
// an echo of one of them left to them.
type ownWrite struct {
	n    int
	left func()
}

// beginOwn marks a write of k in flight, before it goes to the store.
func (s *Service) beginOwn(k ownKey) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	if s.own == nil {
		s.own = make(map[ownKey]*ownWrite)
	}
	w := s.own[k]
	if w == nil {
		w = &ownWrite{}
		s.own[k] = w
	}
	w.n++
}

// endOwn ends a write of k, after its change was reported (or its write
// failed): from here an echo closes for itself. It returns the close an
// echo left to the write, nil if none.
func (s *Service) endOwn(k ownKey) (left func()) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	w := s.own[k]
	if w == nil {
		return nil
	}
	left, w.left = w.left, nil
	if w.n--; w.n == 0 {
		delete(s.own, k)
	}
	return left
}

// closeOrLeave runs close, the close a change of k just held calls for,
// unless this node's own write of k is in flight: then it is left to
// that write, which reports the change first. Another node's change
// closes once that node reported it (Reporter), so that the closes'
// events come after the change's across nodes too.
func (s *Service) closeOrLeave(k ownKey, close func()) {
	s.ownMu.Lock()
	if w := s.own[k]; w != nil {
		w.left = close
		s.ownMu.Unlock()
		return
	}
	s.ownMu.Unlock()
	s.closeAsOthers(k, close)
}

// closeAsOthers runs close, the close another node's change of k calls
// for, once that node reported the change.
func (s *Service) closeAsOthers(k ownKey, close func()) {
	if r, ok := s.opts.store.(Reporter); ok {
		r.AfterReported(k, close)
		return
	}
	close()
}

// reported tells the other nodes that this node's change of k is
// reported (Reporter), so that they close what it closes.
func (s *Service) reported(k ownKey) {
	if r, ok := s.opts.store.(Reporter); ok {
		r.Reported(k)
	}
}

// keyLock is held by an operator's change of one key from its check to
// its report. Without it two changes of one key raced: two deletes both
// found it, both answered 204 and both reported a delete; a delete and
// an enroll (or two enrolls) could reach memory in one order and the
// store in the other, so the node enforced what a restart would undo.
type keyLock struct {
	ch chan struct{}
	n  int // holders and waiters
}

// lockKey takes k's lock, or gives up when ctx ends (not made, as a write
// whose request ended in the queue is not).
func (s *Service) lockKey(ctx context.Context, k ownKey) (unlock func(), err error) {
	s.ownMu.Lock()
	if s.locks == nil {
		s.locks = make(map[ownKey]*keyLock)
	}
	l := s.locks[k]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		s.locks[k] = l
	}
	l.n++
	s.ownMu.Unlock()
	release := func() {
		s.ownMu.Lock()
		if l.n--; l.n == 0 {
			delete(s.locks, k)
		}
		s.ownMu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		s.abandoned.Add(1)
		return nil, ctx.Err()
	}
}
