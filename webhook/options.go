package webhook

import (
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/opt"
)

// Defaults (EVENTS.md).
const (
	DefaultBatch      = 100
	DefaultLinger     = 200 * time.Millisecond
	defaultBackoffMin = time.Second
	defaultBackoffMax = 5 * time.Minute
	defaultTimeout    = 15 * time.Second
	// MaxBatch bounds --webhook-batch: a request stays well under what
	// receivers usually accept (a few MB).
	MaxBatch = 1000
)

type options struct {
	batch      int
	linger     time.Duration
	backoffMin time.Duration
	backoffMax time.Duration
	timeout    time.Duration
	lease      Lease
	log        *zap.Logger
}

func defaultOptions() options {
	return options{
		batch: DefaultBatch, linger: DefaultLinger,
		backoffMin: defaultBackoffMin, backoffMax: defaultBackoffMax,
		timeout: defaultTimeout, log: zap.NewNop(),
	}
}

// Option configures a Deliverer.
type Option func(*options)

// WithBatch sets the most events a request carries (1..MaxBatch).
func WithBatch(n int) Option {
	return func(o *options) { o.batch = min(max(n, 1), MaxBatch) }
}

// WithLinger sets how long after the oldest event of a batch that is not
// full the batch is sent anyway.
func WithLinger(d time.Duration) Option {
	return func(o *options) { o.linger = max(d, 0) }
}

// WithBackoff sets the first and the largest wait between tries of a
// request (1s and 5m by default; tests shrink them).
func WithBackoff(first, most time.Duration) Option {
	return func(o *options) {
		opt.Positive(&o.backoffMin, first)
		if most >= o.backoffMin {
			o.backoffMax = most
		}
	}
}

// WithTimeout sets how long one request may take, its body's answer
// included.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { opt.Positive(&o.timeout, d) }
}

// WithLease makes delivery wait for the lease (a cluster): only its
// holder delivers.
func WithLease(l Lease) Option {
	return func(o *options) { o.lease = l }
}

// WithLogger sets the logger.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}
