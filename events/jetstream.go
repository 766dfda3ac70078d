package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
	"github.com/cliser/cliser/internal/natskey"
	"github.com/cliser/cliser/internal/natsretry"
	"github.com/cliser/cliser/internal/natsstate"
	"github.com/cliser/cliser/internal/prom"
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
	spill     string      // spill.go; "": none
}

// WithTailIdle sets how long the node follows the stream after its last
// live reader (defaultTailIdle; tests shorten it).
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
// Append is safe from any goroutine (event loops included); Close is
// called once; every other method is safe for concurrent use, Stored
// from any goroutine but an event loop's (it waits).
type Stream struct {
	opts   options
	sopts  streamOptions
	cfg    jetstream.StreamConfig // as this node makes it (again: streamanew.go)
	js     jetstream.JetStream
	link   *natsstate.State // js's connection's state, read without its lock
	asking atomic.Bool      // newestNow's ask of NATS is out
	w      *writerConn      // the writer's own connection (publishconn.go)
	stream jetstream.Stream
	q      *queue
	ids    idCutter // the writer's: the IDs of events queued without one
	m      *metrics
	n      *notifier

	mu       sync.Mutex
	cache    []Event       // the tail's newest events, contiguous by seq; at most 2*streamCache
	cacheGen uint64        // the tail's generation the cache is of (follow.go)
	made     time.Time     // when the stream this node reads was made (streamanew.go)
	renewed  chan struct{} // closed when it is found made anew
	renewals prometheus.Counter

	// unreadable counts messages in the stream that are no event
	// (published by hand on its subjects); each is skipped, and a line
	// says so at most once a minute.
	unreadable    prometheus.Counter
	unreadableLog loggate.Gate

	f       follower
	kept    atomic.Uint64      // the stream's MaxMsgs (streamkeep.go)
	cfgSub  *nats.Subscription // announcements of its updates
	failing atomic.Bool
	stored  storedMark // stored.go
	done    chan struct{}

	sp spillState // spill.go
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
	so := streamOptions{name: DefaultStreamName, prefix: DefaultSubjectPrefix, replicas: 1, tailIdle: defaultTailIdle}
	for _, opt := range sopts {
		opt(&so)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("events: jetstream: %w", err)
	}
	ctx, cancel := natsretry.SetupContext(context.Background(), o.log)
	defer cancel()
	warnIfRetentionDiffers(ctx, js, so.name, o.retention, o.log)
	cfg := streamConfig(so, o.retention)
	st, err := createStream(ctx, js, cfg)
	if err != nil {
		return nil, fmt.Errorf("events: stream %s: %w", so.name, err)
	}
	s := &Stream{opts: o, sopts: so, cfg: cfg, js: js, link: natsstate.Of(nc), stream: st, m: newMetrics(), n: newNotifier(),
		renewed: make(chan struct{}), renewals: newRenewals(), unreadable: newUnreadable(), done: make(chan struct{})}
	s.f.idle = so.tailIdle
	s.f.closing, s.f.closed = context.WithCancel(context.Background())
	s.n.advance(st.CachedInfo().State.LastSeq)
	s.noteInfo(st.CachedInfo())
	if s.cfgSub, err = s.watchConfig(nc); err != nil {
		return nil, fmt.Errorf("events: watching stream %s: %w", so.name, err)
	}
	// Read again now that updates are heard: another node's start that
	// set MaxMsgs between this node's update and its subscription was
	// announced to nobody here, and this node went by the old figure
	// until its next read of the stream's info (none while it follows).
	if err := nc.Flush(); err == nil {
		if info, err := st.Info(ctx); err == nil {
			s.noteInfo(info)
		}
	}
	if s.w, err = dialWriter(nc); err != nil {
		_ = s.cfgSub.Unsubscribe()
		return nil, err
	}
	s.q = newQueue(o.queueLimit, s.m, o.log)
	s.q.afterTake = o.afterTake
	s.ids = newIDCutter(idPrefix())
	if err := s.readSpill(); err != nil {
		_ = s.cfgSub.Unsubscribe()
		s.w.close()
		return nil, err
	}
	go s.run()
	return s, nil
}

// streamConfig is the stream every node creates or updates alike.
func streamConfig(so streamOptions, retention int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        so.name,
		Description: "cliser's event log: one order for the cluster (docs/events.md)",
		Subjects:    []string{so.prefix + ".>"},
		MaxMsgs:     int64(retention),
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    so.replicas,
		Duplicates:  dedupWindow,
	}
}

// createStream creates or updates the stream as cfg, tried again within
// ctx while NATS does not answer (natsretry.Setup).
func createStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	tried := false
	return natsretry.Setup(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		if tried { // a create unanswered: made meanwhile? (natsretry.Setup)
			st, err := js.Stream(ctx, cfg.Name)
			if err == nil && sameStream(st.CachedInfo().Config, cfg) {
				return st, nil
			}
			if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				return nil, err
			}
		}
		tried = true
		return js.CreateOrUpdateStream(ctx, cfg)
	})
}

// subject is where cid's events go.
func (s *Stream) subject(cid string) string {
	if cid == "" {
		return s.sopts.prefix + ".="
	}
	return s.sopts.prefix + "." + natskey.Escape(cid)
}

// decode reads msg's event. A message that is none is counted and
// reported (a line a minute at most): the readers skip it.
func (s *Stream) decode(msg jetstream.Msg) (Event, error) {
	md, err := msg.Metadata()
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	} else {
		var ev Event
		if ev, err = decodeStreamed(md.Sequence.Stream, msg.Data()); err == nil {
			return ev, nil
		}
	}
	s.unreadable.Inc()
	if s.unreadableLog.Open(time.Minute) {
		s.opts.log.Warn("events: a message in the event stream is no event (published on its subjects by hand?); "+
			"skipped by every read (cliser_events_unreadable_total)", zap.String("stream", s.sopts.name), zap.Error(err))
	}
	return Event{}, err
}

func newUnreadable() prometheus.Counter {
	return prom.Counter(MetricUnreadable, "Times a read of the cluster's event stream met a message that is no "+
		"event (published on its subjects by hand) and skipped it.")
}

// decodeStreamed reads the event the stream holds at seq as data: its seq
// is the stream's (the writer publishes none). Errors wrap ErrCorrupt.
func decodeStreamed(seq uint64, data []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: event %d: %w", ErrCorrupt, seq, err)
	}
	ev.Seq = seq
	return ev, nil
}

// Close publishes what is queued (for a while, if NATS is away) and stops
// the tail; events it gave up on are an error. nc stays open. Safe to
// call once.
func (s *Stream) Close() error { return s.CloseWithin(context.Background()) }

// CloseWithin is Close bounded by ctx: once it ends, a publish that fails
// or waits for its acknowledgment gives the queued events up at once
// (they are an error, as at Close).
func (s *Stream) CloseWithin(ctx context.Context) error { return closeWithin(ctx, s.q, s.close) }

func (s *Stream) close() error {
	s.f.closed() // a tail's start in flight gives up, and with it mu
	s.q.close()
	<-s.done
	// The spill before anything else that may wait on NATS: a stop out of
	// time (a supervisor's kill) must find the events already kept.
	err := s.keepGivenUp()
	s.w.close()
	_ = s.cfgSub.Unsubscribe() // fails only once nc is closed, which ends it too
	s.f.mu.Lock()
	s.stopTailLocked()
	s.f.mu.Unlock()
	return err
}

// keepGivenUp keeps what the writer gave up on in the spill file, if the
// stream has one; events it cannot keep are an error.
func (s *Stream) keepGivenUp() error {
	n := s.q.givenUp.Load()
	if n == 0 {
		return nil
	}
	if s.sopts.spill != "" {
		kept, err := s.spill()
		if err == nil {
			s.opts.log.Warn("events: the queued events NATS did not take are kept in the spill file; the node's next start publishes them",
				zap.String("file", s.sopts.spill), zap.Int("events", kept))
			return nil
		}
		// lost: a stop that loses them is not a clean one (exit 1)
		return fmt.Errorf("events: %d queued events were not published to stream %s at close, and are lost (publishing failing; the spill file %s: %w)", n, s.sopts.name, s.sopts.spill, err)
	}
	return fmt.Errorf("events: %d queued events were not published to stream %s at close, and are lost (publishing failing)", n, s.sopts.name)
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

// Collectors are the stream log's metrics. The newest seq is newestNow's:
// a scrape of a node that does not follow the stream has it asked of NATS
// for the next.
func (s *Stream) Collectors() []prometheus.Collector {
	return append(s.m.collectors(s.q, s.newestNow), s.renewals, s.unreadable, s.w.reconnects())
}

// sameStream: the stream found has what cfg asks of it, so a retried
// create keeps it; else the update is sent again (a retention changed).
func sameStream(have, want jetstream.StreamConfig) bool {
	return have.MaxMsgs == want.MaxMsgs && have.Replicas == want.Replicas && have.Duplicates == want.Duplicates &&
		have.Discard == want.Discard && slices.Equal(have.Subjects, want.Subjects)
}
