package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
)

// defaultTailIdle is how long a node keeps following the cluster's stream
// after its last live reader (see follower).
const defaultTailIdle = 30 * time.Second

// newestTimeout bounds Newest's one request for the stream's last seq on
// a node that does not follow the stream: it answers an HTTP request
// (GET /v1/events reads the newest after it, within readTimeout, both
// within an admin client's 5 s) or a scrape.
const newestTimeout = time.Second

// follower is the node's tail of the cluster's stream, run only while
// something here reads live events: a Wait under way (an SSE stream, a
// long-poll, the webhook deliverer that holds the lease) or one within
// the idle time. Every node tailing every event doubled the NATS server's
// fan-out per registration, for nodes where nobody read them; a node
// with no live reader now costs the stream nothing but its own publishes.
//
// mu is held while the tail starts (NATS round trips): concurrent Waits
// then start it once.
type follower struct {
	mu      sync.Mutex
	tail    jetstream.ConsumeContext // nil while the node does not follow
	cons    jetstream.Consumer       // the tail's ordered consumer, deleted at stop
	on      atomic.Bool              // tail != nil, read without mu
	gen     uint64                   // bumped at each start and stop
	waiting int                      // Waits under way
	lastUse time.Time
	idle    time.Duration
	failing loggate.Episode // starting the tail fails; logged once until it works

	// closing ends with the stream's close, and with it a tail's start
	// in flight: one that lost NATS held mu, and the close, for the
	// start's 5 s timeout.
	closing context.Context
	closed  context.CancelFunc
}

// following reports whether the tail runs, so the notifier is current.
func (s *Stream) following() bool { return s.f.on.Load() }

// follow starts the tail unless it runs, from the event after after (or
// the newest streamCache events, when after is older: older reads fetch),
// and counts one Wait under way until the returned func is called.
func (s *Stream) follow(ctx context.Context, after uint64) (done func(), err error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.closing.Err() != nil {
		return nil, ErrClosed
	}
	if s.f.tail == nil {
		if err := s.startTailLocked(ctx, after); err != nil {
			if s.f.failing.Fail() {
				s.opts.log.Warn("events: can not follow the cluster's stream; live readers wait and retry", zap.Error(err))
			}
			return nil, err
		}
		if s.f.failing.OK() {
			s.opts.log.Info("events: following the cluster's stream again")
		}
	}
	s.f.waiting++
	s.f.lastUse = time.Now()
	return func() {
		s.f.mu.Lock()
		s.f.waiting--
		s.f.lastUse = time.Now()
		s.f.mu.Unlock()
	}, nil
}

// touch keeps a running tail from going idle (a read served from it).
func (s *Stream) touch() {
	s.f.mu.Lock()
	s.f.lastUse = time.Now()
	s.f.mu.Unlock()
}

// startTailLocked starts an ordered consumer (it recreates itself after a
// NATS outage and resumes where it was) into an empty cache. s.f.mu held.
func (s *Stream) startTailLocked(ctx context.Context, after uint64) error {
	ctx, cancel := context.WithTimeout(ctx, streamOpTimeout)
	defer cancel()
	defer context.AfterFunc(s.f.closing, cancel)()
	info, err := s.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("events: stream %s: %w", s.sopts.name, err)
	}
	s.noteConfig(info)
	if s.madeAnew(info) {
		s.renewLocked(info) // no tail runs: none to stop
	}
	last := info.State.LastSeq
	s.n.advance(last) // the newest seq is known before the tail catches up
	lo := max(info.State.FirstSeq, last+1-min(last, streamCache), 1)
	start := min(max(after+1, lo), last+1)
	gen := s.resetCache()
	cons, err := s.js.OrderedConsumer(ctx, s.sopts.name, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
	})
	if err != nil {
		return fmt.Errorf("events: tail of %s: %w", s.sopts.name, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) { s.onTail(gen, msg) })
	if err != nil {
		return fmt.Errorf("events: tail of %s: %w", s.sopts.name, err)
	}
	s.f.tail, s.f.cons, s.f.gen, s.f.lastUse = cc, cons, gen, time.Now()
	s.f.on.Store(true)
	go s.stopWhenIdle(gen)
	return nil
}

// resetCache empties the cache for a new generation of the tail: a late
// message of a stopped tail must not land in front of the new one's.
func (s *Stream) resetCache() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache, s.cacheGen = nil, s.cacheGen+1
	return s.cacheGen
}

// stopWhenIdle stops tail generation gen once no Wait is under way and
// none was for the idle time. The cache goes with it (its memory too):
// reads fetch from the stream until a live reader follows again.
func (s *Stream) stopWhenIdle(gen uint64) {
	t := time.NewTicker(max(s.f.idle/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.done:
			return
		}
		s.f.mu.Lock()
		if s.f.gen != gen || s.f.tail == nil {
			s.f.mu.Unlock()
			return
		}
		if s.f.waiting == 0 && time.Since(s.f.lastUse) >= s.f.idle {
			s.stopTailLocked()
			s.f.mu.Unlock()
			return
		}
		s.f.mu.Unlock()
	}
}

// stopTailLocked stops the tail, drops the cache and deletes the
// consumer (the server would keep an idle one for minutes). s.f.mu held.
func (s *Stream) stopTailLocked() {
	if s.f.tail == nil {
		return
	}
	s.f.tail.Stop()
	info := s.f.cons.CachedInfo()
	s.f.tail, s.f.cons = nil, nil
	s.f.on.Store(false)
	s.resetCache()
	if info == nil {
		return // between two consumers (an outage): none to delete
	}
	if !s.link.Connected() {
		// NATS away: the delete would wait out its timeout (5 s of a stop
		// that must also keep its events); the server ages the consumer out.
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamOpTimeout)
	defer cancel()
	if err := s.stream.DeleteConsumer(ctx, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		s.opts.log.Debug("events: deleting the idle tail's consumer", zap.Error(err)) // it ages out on the server
	}
}

// onTail adds one event of tail generation gen to the cache and wakes the
// waiters. The cache stays contiguous: a gap (which an ordered consumer
// does not deliver) would start it afresh rather than hide events.
func (s *Stream) onTail(gen uint64, msg jetstream.Msg) {
	ev, err := s.decode(msg)
	if err != nil {
		return // counted and reported by decode
	}
	s.mu.Lock()
	if s.cacheGen != gen {
		s.mu.Unlock()
		return
	}
	n := len(s.cache)
	switch {
	case n > 0 && ev.Seq <= s.cache[n-1].Seq:
	case n > 0 && ev.Seq != s.cache[n-1].Seq+1:
		s.cache = append(s.cache[:0], ev)
	default:
		s.cache = append(s.cache, ev)
	}
	if keep := int(min(streamCache, s.keep())); len(s.cache) >= 2*keep {
		s.cache = append(make([]Event, 0, 2*keep), s.cache[len(s.cache)-keep:]...)
	}
	s.mu.Unlock()
	s.n.advance(ev.Seq)
}

// Newest is the newest seq of the stream: what the tail has seen while the
// node follows it, else the stream's last seq, asked of NATS (the last
// known one when NATS does not answer or is away).
func (s *Stream) Newest() uint64 {
	if !s.following() && s.connected() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), newestTimeout)
		defer cancel()
		if info, err := s.stream.Info(ctx); err == nil {
			s.noteInfo(info)
			s.n.advance(info.State.LastSeq)
		}
	}
	return s.n.newest.Load()
}

// newestNow is Newest for a scrape: the last known seq at once, refreshed
// from NATS in the background (one ask at a time) while the node does not
// follow the stream. A scrape waited out Newest's ask, up to 1 s, against
// a NATS server frozen before the node noticed (regression audit). Safe
// from any goroutine.
func (s *Stream) newestNow() uint64 {
	if !s.following() && s.connected() == nil && s.asking.CompareAndSwap(false, true) {
		go func() {
			defer s.asking.Store(false)
			s.Newest()
		}()
	}
	return s.n.newest.Load()
}

// Oldest is the oldest seq the stream keeps, as its MaxMsgs
// (streamkeep.go) says from the newest seq this node knows (what its reads take for gone
// too). It asks NATS nothing: call Newest first for a current one.
func (s *Stream) Oldest() uint64 {
	newest, keep := s.n.newest.Load(), s.keep()
	switch {
	case newest == 0:
		return 0
	case newest > keep:
		return newest - keep + 1
	}
	return 1
}

// Wait returns nil once the stream holds an event with Seq > after. It
// makes the node follow the stream; while that fails (NATS away) it
// retries every followRetry until ctx ends, or the stream is closed
// (ErrClosed).
func (s *Stream) Wait(ctx context.Context, after uint64) error {
	for {
		done, err := s.follow(ctx, after)
		if err == nil {
			defer done()
			return waitFor(ctx, s.n, after)
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(followRetry):
		}
	}
}

// followRetry is the wait between two tries to start the tail.
const followRetry = time.Second
