package identity

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// A ban's end is enforced by every node on its own, at its until: the
// sweep drops it from memory. Its ban.deleted (EVENTS.md: "also when a ban
// expires") is reported once for the cluster: every node that finds it
// ended tries a conditional delete (Store.ExpireBan), and only the node
// whose delete removed it reports it. Before, every node's sweep reported
// it, and so did every node that started after it ended: one expiry was a
// ban.deleted per node.

// expireBatch bounds the deletes one queued write makes, so that a
// start with thousands of ended bans does not hold the queue (and the
// operators' writes behind it) past one write's timeout.
const expireBatch = 64

// The wait before the ended bans' deletes are tried again after one
// failed (NATS away, no quorum): doubled at each failure up to the most.
// One failed try costs the queue up to a write's timeout, so a long
// outage costs at most that every expiryRetryMax.
const (
	expiryRetryMin = time.Second
	expiryRetryMax = 30 * time.Second
)

// expiries are the ended bans this node no longer holds whose deletes the
// store has not answered yet, by key: one a key, the newest found.
type expiries struct {
	mu      sync.Mutex
	pending map[BanKey]*expiry
	queued  bool          // a write that takes them is queued or under way
	retryAt time.Time     // after a failure: no try before then
	backoff time.Duration // the last wait after a failure; 0 after a success
}

type expiry struct {
	ban   Ban
	found time.Time // when this node found it ended: its event's time
}

// expire queues the deletes of bans, which have ended and which the
// service no longer holds. It may be called under s.mu (the sweep calls it
// there, so that a ban is never gone from memory with its delete not yet
// queued: a write queued by someone who saw it gone comes after its
// delete). Without a store there is nothing to delete and nobody else to
// report: it returns the bans for the caller to report (after s.mu).
func (s *Service) expire(bans []Ban, found time.Time) (report []Ban) {
	if len(bans) == 0 {
		return nil
	}
	if s.opts.store == nil {
		return bans
	}
	s.exp.mu.Lock()
	if s.exp.pending == nil {
		s.exp.pending = make(map[BanKey]*expiry)
	}
	for _, b := range bans {
		if e := s.exp.pending[b.Key()]; e != nil && e.ban.Same(b) {
			continue // found again (a reload) while its delete is on its way
		}
		s.exp.pending[b.Key()] = &expiry{ban: b, found: found}
	}
	s.exp.mu.Unlock()
	s.queueExpiries(time.Now())
	return nil
}

// queueExpiries queues a write that tries the pending deletes, unless one
// is queued or under way (it queues the next when it ends), none is
// pending, or a failure's wait runs.
func (s *Service) queueExpiries(now time.Time) {
	s.exp.mu.Lock()
	due := !s.exp.queued && len(s.exp.pending) > 0 && !now.Before(s.exp.retryAt)
	if due {
		s.exp.queued = true
	}
	s.exp.mu.Unlock()
	if due {
		s.behindRetried("expire bans", s.expirePending)
	}
}

// expirePending tries up to expireBatch pending deletes, reports each one
// this node's delete won, and queues itself again for the rest. At the
// first failure it stops: the store is likely away for them all, and the
// sweep queues them again after the wait.
func (s *Service) expirePending(ctx context.Context, st Store) error {
	s.exp.mu.Lock()
	batch := make([]*expiry, 0, min(len(s.exp.pending), expireBatch))
	for _, e := range s.exp.pending {
		if len(batch) == expireBatch {
			break
		}
		batch = append(batch, e)
	}
	s.exp.mu.Unlock()
	for _, e := range batch {
		won, err := st.ExpireBan(ctx, e.ban)
		if err != nil {
			s.exp.mu.Lock()
			s.exp.queued = false // the sweep queues the next try after the wait
			s.exp.backoff = min(max(2*s.exp.backoff, s.opts.retryMin), s.opts.retryMax)
			s.exp.retryAt = time.Now().Add(s.exp.backoff)
			s.exp.mu.Unlock()
			return fmt.Errorf("ban %s ended: %w", e.ban.Key(), err)
		}
		if won {
			s.reportExpired(e.ban, e.found)
		} else {
			s.opts.log.Debug("identity: ban expired; its delete was another node's, or a ban made again replaced it",
				zap.String("kind", e.ban.Kind), zap.String("value", e.ban.Value), zap.Timep("until", e.ban.Until))
		}
		s.exp.mu.Lock()
		if s.exp.pending[e.ban.Key()] == e { // else a later ban of the key ended meanwhile: its own try
			delete(s.exp.pending, e.ban.Key())
		}
		s.exp.mu.Unlock()
	}
	s.exp.mu.Lock()
	s.exp.queued = false
	s.exp.backoff, s.exp.retryAt = 0, time.Time{}
	s.exp.mu.Unlock()
	s.queueExpiries(time.Now()) // the rest of a big batch, and what was found meanwhile
	return nil
}

// reportExpired logs b's expiry and reports its ban.deleted, timed when
// it was found ended.
func (s *Service) reportExpired(b Ban, found time.Time) {
	s.opts.log.Info("identity: ban expired", zap.String("kind", b.Kind), zap.String("value", b.Value), zap.String("by", b.By),
		zap.Timep("until", b.Until))
	s.emit(banEvent(EventBanDeleted, b, found.UTC()))
}

// PendingExpiries is how many ended bans wait for their deletes (and so
// for their ban.deleted): above 0 for long only while the store fails.
// Safe from any goroutine.
func (s *Service) PendingExpiries() int {
	s.exp.mu.Lock()
	defer s.exp.mu.Unlock()
	return len(s.exp.pending)
}
