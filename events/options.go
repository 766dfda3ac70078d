package events

import (
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/boltkeep"
)

// Option configures a log (functional options).
type Option func(*options)

type options struct {
	retention  int
	queueLimit int
	log        *zap.Logger
	now        func() time.Time
	checkEvery time.Duration  // how often the log's file is checked to be at its path
	indexSlots int            // the index's table (tests make clients share slots)
	afterTake  func(took int) // tests: called after each of the writer's takes
	// commitEvery paces the writer (writer.go's commitEvery; tests make
	// it long to tell a pace cut short from one waited out).
	commitEvery time.Duration
}

// Defaults, as EVENTS.md and docs/events.md give them.
const (
	DefaultRetention = 1_000_000
	// defaultQueueLimit bounds the events waiting for the writer. At ~300
	// bytes an event it is ~80 MB at worst; a storm of 65,535 clients all
	// reconnecting is 131,070 events, well inside it.
	defaultQueueLimit = 1 << 18
)

func defaultOptions() options {
	return options{
		retention:   DefaultRetention,
		queueLimit:  defaultQueueLimit,
		log:         zap.NewNop(),
		now:         func() time.Time { return time.Now().UTC() },
		checkEvery:  boltkeep.CheckEvery,
		indexSlots:  indexSlots,
		commitEvery: commitEvery,
	}
}

// WithRetention keeps the newest n events (at least 1); older ones are
// deleted in batches.
func WithRetention(n int) Option {
	return func(o *options) { o.retention = max(n, 1) }
}

// WithQueueLimit bounds the events waiting for the writer; past it new
// events are dropped, counted and logged (never a wait on the caller).
func WithQueueLimit(n int) Option {
	return func(o *options) { o.queueLimit = max(n, 1) }
}

// WithLogger sets the zap logger.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.log = l } }

// WithCheckEvery sets how often the single-node log's writer checks that
// its file is still at its path (see Log.keepPlaced).
func WithCheckEvery(d time.Duration) Option { return func(o *options) { o.checkEvery = d } }
