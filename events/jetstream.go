package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/natskey"
	"github.com/cliser/cliser/internal/natsretry"
)

// Defaults of the cluster's log.
const (
	DefaultStreamName    = "CLISER_EVENTS"
	DefaultSubjectPrefix = "cliser.events"
	// streamCache is how many of the newest events each node keeps in
	// memory from its tail of the stream: reads of them (the API, the
	// stream, webhook delivery) cost no NATS round trip. Like the single
	// node's recent tail, it holds what live readers follow, not the
	// fleet's history: at ~433 B a decoded event, 65,536 (up to twice
	// that before a trim) cost a node 30-50 MiB.
	streamCache = 8192
	// publishChunk is the most events published before waiting for their
	// acknowledgments (under nats.go's default of 4,000 outstanding).
	publishChunk = 1000
	// streamOpTimeout bounds one NATS request of the writer, and of the
	// tail's making.
	streamOpTimeout = 5 * time.Second
	// readTimeout bounds a read of the stream for the admin API, its
	// requests together: well within an admin client's 5 s, as a read of
	// the clients bucket (the cluster's request timeout, 3 s). Without a
	// quorum NATS takes a consumer's creation and does not answer.
	readTimeout = 3 * time.Second
	// deleteTimeout bounds the deletion of a read's consumer, which the
	// answer waits for; one left behind ages out (InactiveThreshold).
	deleteTimeout = 500 * time.Millisecond
	// dedupWindow is the stream's duplicate window: a batch republished
	// after a lost acknowledgment is stored once (its events keep their
	// ids, which are the message ids).
	dedupWindow = 2 * time.Minute
)

// StreamOption configures a Stream.
type StreamOption func(*streamOptions)

type streamOptions struct {
	name      string
	prefix    string
	replicas  int
	tailIdle  time.Duration
	holdWhile func() bool // hold.go
}

// WithStreamName sets the JetStream stream's name and subject prefix
// (tests run several clusters on one NATS server).
func WithStreamName(name, subjectPrefix string) StreamOption {
	return func(o *streamOptions) { o.name, o.prefix = name, subjectPrefix }
}

// WithTailIdle sets how long the node follows the stream after its last
// live reader (DefaultTailIdle; tests shorten it).
func WithTailIdle(d time.Duration) StreamOption {
	return func(o *streamOptions) { o.tailIdle = max(d, time.Millisecond) }
}

// WithStreamReplicas sets the stream's replicas (3 on a 3-server NATS cluster).
func WithStreamReplicas(n int) StreamOption {
	return func(o *streamOptions) { o.replicas = max(n, 1) }
}

// Stream is the cluster's event log: one JetStream stream, so the cluster
// has one order and seq is the stream's sequence. Every node publishes its
// own events to it behind the hot path (Append queues; a writer publishes
// asynchronously, checks every acknowledgment and retries), and tails it
// into memory while it has live readers (follow.go). Retention is the
// stream's MaxMsgs.
//
// Each event's subject is <prefix>.<cid token> (a key-safe form of the
// client ID; "=" for events of no client), so per-client reads are a
// filtered consumer, not a scan.
//
// Append is safe from any goroutine (event loops included); the Reader and
// Historian methods are safe for concurrent use.
type Stream struct {
	opts   options
	sopts  streamOptions
	js     jetstream.JetStream
	stream jetstream.Stream
	q      *queue
	ids    idCutter // the writer's: the IDs of events queued without one
	m      *metrics
	n      *notifier

	mu       sync.Mutex
	cache    []Event // the tail's newest events, contiguous by seq; at most 2*streamCache
	cacheGen uint64  // the tail's generation the cache is of (follow.go)

	f       follower
	kept    atomic.Uint64      // the stream's MaxMsgs (streamkeep.go)
	cfgSub  *nats.Subscription // announcements of its updates
	failing atomic.Bool
	stored  storedMark // stored.go
	done    chan struct{}
}

var (
	_ Reader    = (*Stream)(nil)
	_ Historian = (*Stream)(nil)
)

// OpenStream makes (or updates) the cluster's event stream on nc and starts
// this node's writer (the tail starts with the first live reader). nc
// stays the caller's.
func OpenStream(nc *nats.Conn, opts []Option, sopts ...StreamOption) (*Stream, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	so := streamOptions{name: DefaultStreamName, prefix: DefaultSubjectPrefix, replicas: 1, tailIdle: DefaultTailIdle}
	for _, opt := range sopts {
		opt(&so)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("events: jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), natsretry.SetupTimeout)
	defer cancel()
	warnIfRetentionDiffers(ctx, js, so.name, o.retention, o.log)
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        so.name,
		Description: "cliser's event log: one order for the cluster (docs/events.md)",
		Subjects:    []string{so.prefix + ".>"},
		MaxMsgs:     int64(o.retention),
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    so.replicas,
		Duplicates:  dedupWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("events: stream %s: %w", so.name, err)
	}
	s := &Stream{opts: o, sopts: so, js: js, stream: st, m: newMetrics(), n: newNotifier(), done: make(chan struct{})}
	s.f.idle = so.tailIdle
	s.n.advance(st.CachedInfo().State.LastSeq)
	s.noteConfig(st.CachedInfo())
	if s.cfgSub, err = s.watchConfig(nc); err != nil {
		return nil, fmt.Errorf("events: watching stream %s: %w", so.name, err)
	}
	// Read again now that updates are heard: another node's start that
	// set MaxMsgs between this node's update and its subscription was
	// announced to nobody here, and this node went by the old figure
	// until its next read of the stream's info (none while it follows).
	if err := nc.Flush(); err == nil {
		if info, err := st.Info(ctx); err == nil {
			s.noteConfig(info)
		}
	}
	s.q = newQueue(o.queueLimit, s.m, o.log)
	s.ids = newIDCutter(idPrefix())
	go s.run()
	return s, nil
}

// subject is where cid's events go.
func (s *Stream) subject(cid string) string {
	if cid == "" {
		return s.sopts.prefix + ".="
	}
	return s.sopts.prefix + "." + natskey.Escape(cid)
}

func (s *Stream) decode(msg jetstream.Msg) (Event, error) {
	var ev Event
	if err := json.Unmarshal(msg.Data(), &ev); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	md, err := msg.Metadata()
	if err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	ev.Seq = md.Sequence.Stream
	return ev, nil
}

// Append queues ev for the stream; it never blocks (see queue). The event
// gets an id and a time when it has none.
func (s *Stream) Append(ev Event) bool {
	if ev.Time.IsZero() {
		ev.Time = s.opts.now()
	}
	return s.q.push(ev)
}

// run is the writer: it publishes what is queued, in order, and waits for
// every acknowledgment; a batch with a failure is published again from its
// first failed event (the stream drops what it already has by message id).
func (s *Stream) run() {
	defer close(s.done)
	var batch []Event
	backoff := 100 * time.Millisecond
	for {
		if s.q.len() > 0 {
			s.hold() // in the queue, where cliser_events_queued shows them
		}
		batch = s.q.take(batch, writeChunk)
		if len(batch) > 0 {
			s.giveIDs(batch)
			sent, err := s.publish(batch)
			if sent > 0 {
				s.q.wrote()
			}
			if err != nil {
				s.q.putBack(batch[sent:])
				s.m.storeErrors.Inc()
				if !s.failing.Swap(true) {
					s.opts.log.Error("events: publishing to the cluster's event stream failed; retrying", zap.Error(err))
				}
				s.stored.advance(sent)
				if s.q.retryAfter(&backoff, s.opts.log) {
					return
				}
				continue
			}
			if s.failing.Swap(false) {
				s.opts.log.Info("events: publishing to the event stream works again")
			}
			s.stored.advance(sent)
			backoff = 100 * time.Millisecond
			continue
		}
		if s.q.isClosed() {
			return
		}
		<-s.q.wake
	}
}

// giveIDs gives each event of batch that has none the next ID: once, as
// it is first taken, so that a batch put back is published again under
// the same message ids.
func (s *Stream) giveIDs(batch []Event) {
	for i := range batch {
		if batch[i].ID == "" {
			batch[i].ID = s.ids.id()
		}
	}
}

// publish sends batch in chunks and checks every acknowledgment. It
// returns how many events from the start are known stored.
func (s *Stream) publish(batch []Event) (int, error) {
	for start := 0; start < len(batch); start += publishChunk {
		if start > 0 {
			s.hold() // a backlog of records that starts mid-batch goes first too
		}
		chunk := batch[start:min(start+publishChunk, len(batch))]
		futures := make([]jetstream.PubAckFuture, 0, len(chunk))
		var pubErr error
		for i := range chunk {
			data, err := AppendJSON(nil, &chunk[i])
			if err != nil {
				return start, err
			}
			f, err := s.js.PublishMsgAsync(&nats.Msg{Subject: s.subject(chunk[i].CID), Data: data}, jetstream.WithMsgID(chunk[i].ID))
			if err != nil {
				pubErr = err
				break
			}
			futures = append(futures, f)
		}
		timeout := time.After(streamOpTimeout)
		for i, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return start + i, err
			case <-timeout:
				return start + i, errors.New("no acknowledgment from JetStream in time")
			}
		}
		if pubErr != nil {
			return start + len(futures), pubErr
		}
	}
	return len(batch), nil
}

// Close publishes what is queued (for a while, if NATS is away) and stops
// the tail; events it gave up on are an error. nc stays open. Safe to
// call once.
func (s *Stream) Close() error {
	s.q.close()
	<-s.done
	_ = s.cfgSub.Unsubscribe() // fails only once nc is closed, which ends it too
	s.f.mu.Lock()
	s.stopTailLocked()
	s.f.mu.Unlock()
	if n := s.q.givenUp.Load(); n > 0 { // lost: a stop that loses them is not a clean one (exit 1)
		return fmt.Errorf("events: %d queued events were not published to stream %s at close, and are lost (publishing failing)", n, s.sopts.name)
	}
	return nil
}

// Healthy is nil unless publishing fails or events were dropped since the
// writer last caught up.
func (s *Stream) Healthy() error {
	switch {
	case s.failing.Load():
		return fmt.Errorf("event log: publishing to stream %s is failing", s.sopts.name)
	case s.q.isDropping():
		return fmt.Errorf("event log: queue full, events dropped (%d so far)", s.q.dropped.Load())
	}
	return nil
}

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
	if newest, keep := s.n.newest.Load(), s.keep(); newest > keep && after+1 < newest-keep+1 {
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
	s.noteConfig(info)
	s.n.advance(info.State.LastSeq)
	if first := info.State.FirstSeq; info.State.Msgs > 0 && after+1 < first {
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
				continue
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
	if st := s.js.Conn().Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w (NATS is %s)", ErrUnavailable, strings.ToLower(st.String()))
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

// Collectors are the stream log's metrics. The newest seq is Newest's: a
// scrape of a node that does not follow the stream asks NATS for it.
func (s *Stream) Collectors() []prometheus.Collector { return s.m.collectors(s.q, s.Newest) }
