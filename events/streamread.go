package events

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cliser/cliser/internal/natsretry"
)

// The stream's readers: by seq (Read) from this node's tail when it holds
// the events, else from the stream; by client (ReadCID, LatestCID,
// History) from the stream filtered by the client's subject. A read of the
// stream is an ephemeral consumer, bounded by readTimeout and deleted once
// read.

// Read returns up to limit events with Seq > after: from memory when this
// node's tail holds them, else from the stream. A read does not start the
// tail (Wait does): a poller that never waits costs no fan-out.
func (s *Stream) Read(ctx context.Context, after uint64, limit int) ([]Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	if !s.following() {
		return s.fetch(ctx, after, limit, "")
	}
	// The stream keeps the newest MaxMsgs (the retention): what is older
	// is gone on every node alike, whatever this node's cache still holds.
	if newest, keep := s.n.newest.Load(), s.keep(); newest > keep && goneBefore(after, newest-keep+1) {
		return nil, &GoneError{Oldest: newest - keep + 1}
	}
	s.mu.Lock()
	if n := len(s.cache); n > 0 && after+1 >= s.cache[0].Seq {
		i := sort.Search(n, func(i int) bool { return s.cache[i].Seq > after })
		out := append([]Event(nil), s.cache[i:min(n, i+limit)]...)
		s.mu.Unlock()
		s.touch()
		if len(out) > 0 || after >= s.Newest() {
			return out, nil
		}
		// The tail has not caught up with the stream yet (just opened).
		return s.fetch(ctx, after, limit, "")
	}
	s.mu.Unlock()
	if after >= s.Newest() {
		return nil, nil
	}
	return s.fetch(ctx, after, limit, "")
}

// fetch reads up to limit events after after (of cid's subject when cid is
// not "") with an ephemeral consumer.
func (s *Stream) fetch(ctx context.Context, after uint64, limit int, cid string) ([]Event, error) {
	if err := s.connected(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	var info *jetstream.StreamInfo
	err := natsretry.NoResponders(ctx, func() (err error) {
		info, err = s.stream.Info(ctx)
		return err
	})
	if err != nil {
		return nil, s.unavailable("stream", err)
	}
	s.noteInfo(info)
	s.n.advance(info.State.LastSeq)
	if first := info.State.FirstSeq; info.State.Msgs > 0 && goneBefore(after, first) {
		return nil, &GoneError{Oldest: first}
	}
	if after >= info.State.LastSeq {
		return nil, nil
	}
	cfg := jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: after + 1,
		AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true, InactiveThreshold: time.Minute,
	}
	if cid != "" {
		cfg.FilterSubject = s.subject(cid)
	}
	if after+1 < info.State.FirstSeq {
		cfg.OptStartSeq = info.State.FirstSeq
	}
	return s.consume(ctx, cfg, limit, nil)
}

// consume reads up to limit of the messages an ephemeral consumer has
// pending when made, handing each to keep (or gathering them when keep is
// nil), and deletes the consumer.
func (s *Stream) consume(ctx context.Context, cfg jetstream.ConsumerConfig, limit int, keep func(Event)) ([]Event, error) {
	if err := s.connected(); err != nil {
		return nil, err
	}
	var cons jetstream.Consumer
	err := natsretry.NoResponders(ctx, func() (err error) {
		cons, err = s.stream.CreateConsumer(ctx, cfg)
		return err
	})
	if err != nil {
		return nil, s.unavailable("read", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
		_ = s.stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
		cancel()
	}()
	pending := int(cons.CachedInfo().NumPending)
	want := min(pending, limit)
	var out []Event
	for got := 0; got < want; {
		wait := streamOpTimeout
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if wait <= 0 {
			return nil, s.unavailable("read", context.DeadlineExceeded)
		}
		batch, err := cons.Fetch(min(want-got, 1000), jetstream.FetchMaxWait(wait))
		if err != nil {
			return nil, s.unavailable("read", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			ev, err := s.decode(msg)
			if err != nil {
				continue // counted and reported by decode
			}
			if keep != nil {
				keep(ev)
			} else {
				out = append(out, ev)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, s.unavailable("read", err)
		}
		if n == 0 {
			break
		}
		got += n
	}
	if err := ctx.Err(); err != nil {
		return nil, s.unavailable("read", err)
	}
	return out, nil
}

// unavailable is err, a failed NATS request of a read, as ErrUnavailable:
// the stream is away (an outage, a failover), not the read wrong, so the
// admin API answers 503 and a client tries again.
func (s *Stream) unavailable(op string, err error) error {
	return fmt.Errorf("%w (%s %s: %v)", ErrUnavailable, op, s.sopts.name, err)
}

// connected is nil while this node's NATS connection is up, else
// ErrUnavailable at once: a read would only wait out its timeout, longer
// than an admin client waits for the answer.
func (s *Stream) connected() error {
	if !s.link.Connected() {
		return fmt.Errorf("%w (NATS is %s)", ErrUnavailable, s.link)
	}
	return nil
}

// ReadCID is Read for cid's events, from the stream filtered by its subject.
func (s *Stream) ReadCID(ctx context.Context, cid string, after uint64, limit int) ([]Event, error) {
	if limit <= 0 || (s.following() && after >= s.n.newest.Load()) {
		return nil, nil
	}
	return s.fetch(ctx, after, limit, cid)
}

// LatestCID is cid's newest limit events, newest first. It reads all of
// cid's events the stream keeps (one client's, not the log's), within
// readTimeout as any read for the admin API: without a quorum the
// consumer's creation may never be answered, and the 20 s it had before
// ran past an admin client's timeout.
func (s *Stream) LatestCID(ctx context.Context, cid string, limit int) ([]Event, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	ring := make([]Event, 0, limit)
	_, err := s.consume(ctx, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverAllPolicy, FilterSubject: s.subject(cid),
		AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true, InactiveThreshold: time.Minute,
	}, 1<<30, func(ev Event) {
		if len(ring) == limit {
			copy(ring, ring[1:])
			ring = ring[:limit-1]
		}
		ring = append(ring, ev)
	})
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(ring)-1; i < j; i, j = i+1, j-1 {
		ring[i], ring[j] = ring[j], ring[i]
	}
	return ring, nil
}

// History is cid's last sessions, newest first.
func (s *Stream) History(ctx context.Context, cid string, limit int) ([]Session, error) {
	return history(ctx, s.LatestCID, cid, limit)
}
