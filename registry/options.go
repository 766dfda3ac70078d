package registry

import (
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/opt"
)

// Option configures a Registry (functional options).
type Option func(*options)

type options struct {
	maxClients    int
	store         Store
	storeCopies   bool // store is a CopyingStore
	flushInterval time.Duration
	checkpoint    time.Duration
	retention     time.Duration
	node          string
	now           func() time.Time
	log           *zap.Logger // the write-behind's warnings (writebehind.go)
	changes       ChangeFunc
	logged        LogTail // the event log's newest sessions, for Load (logged.go)
}

func defaultOptions() options {
	return options{
		maxClients:    65535,
		flushInterval: 250 * time.Millisecond,
		checkpoint:    time.Minute,
		retention:     30 * 24 * time.Hour,
		now:           func() time.Time { return time.Now().UTC() },
	}
}

// WithMaxClients caps the clients connected at once (at most 65535, the sid space).
func WithMaxClients(n int) Option {
	return func(o *options) { o.maxClients = min(max(n, 0), 65535) }
}

// WithStore keeps records across restarts in s, written behind by Run.
func WithStore(s Store) Option {
	return func(o *options) {
		o.store = s
		_, o.storeCopies = s.(CopyingStore)
	}
}

// WithFlushInterval sets how often Run writes changed records to the store.
// It bounds what a crash can lose. A value <= 0 keeps the default (Run's
// ticker can not tick at zero).
func WithFlushInterval(d time.Duration) Option {
	return func(o *options) { opt.Positive(&o.flushInterval, d) }
}

// WithCheckpoint sets how often Run also writes every connected record, so
// that last_seen on disk is never older than this. A value <= 0 keeps the
// default rather than scan every record on every flush.
func WithCheckpoint(d time.Duration) Option {
	return func(o *options) { opt.Positive(&o.checkpoint, d) }
}

// WithRetention sets how long a disconnected record is kept: the
// checkpoint prunes it within two intervals after that, not one, since a
// pass spreads its visits over its interval by count, and records pruned
// ahead of it move a record later in the next pass (a soak saw 1m48s
// past a 3m retention at a 1m interval). 0 keeps it forever. (In cluster mode the
// bucket's TTL also applies; see cluster.WithRetention.)
func WithRetention(d time.Duration) Option { return func(o *options) { o.retention = d } }

// WithNode names the node that registers clients here (cluster mode).
func WithNode(name string) Option { return func(o *options) { o.node = name } }

// WithClock replaces time.Now, for tests of retention.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }
