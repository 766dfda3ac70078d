package logstore

import (
	"os"
	"time"

	"go.uber.org/zap"
)

// Option configures a Store (functional options).
type Option func(*options)

type options struct {
	lockTimeout time.Duration
	fileMode    os.FileMode
	compactMin  int // tests make it small
	// compactRetry: how long after a failed compaction the next is tried
	// without waiting for another bound of changes (tests make it small).
	compactRetry time.Duration
	log          *zap.Logger
}

func defaultOptions() options {
	return options{
		// Long enough to ride out a previous process that is still
		// closing during a quick restart, short enough that a second
		// server on the same dir fails fast with ErrInUse.
		lockTimeout: 2 * time.Second,
		// Records hold client addresses: readable by the owner only.
		fileMode:     0o600,
		compactMin:   compactMin,
		compactRetry: compactRetry,
		log:          zap.NewNop(),
	}
}

// WithLockTimeout sets how long Open waits for the data dir's lock before
// it gives up with ErrInUse. A value <= 0 is taken as the smallest wait
// (one try), never as "wait forever", so a second server can not hang at
// start.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			d = time.Nanosecond
		}
		o.lockTimeout = d
	}
}

// WithCompactRetry sets how long after a failed compaction (a full disk)
// the next is tried without waiting for another bound of changes; by
// default 10 s. A value <= 0 keeps the default.
func WithCompactRetry(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.compactRetry = d
		}
	}
}

// WithLogger sets where the store says that it wrote its files again
// after they were removed under it (place.go), and that Open dropped a
// log's torn tail (open.go). By default it says nothing.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}
