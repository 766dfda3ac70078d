package identity

import (
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/opt"
	"github.com/cliser/cliser/protocol"
)

// Option configures a Service (functional options).
type Option func(*options)

type options struct {
	store      Store
	require    bool
	flapLimit  int
	flapWindow time.Duration
	flapBan    time.Duration
	closeCID   func(cid string, r protocol.Reason)
	closeAddr  func(match func(cip string) bool, r protocol.Reason)
	onEvent    func(Event)
	log        *zap.Logger
	sweep      time.Duration
	retryMin   time.Duration // the first wait before an expiry's failed delete is tried again
	retryMax   time.Duration // the longest
}

// Defaults, as IDENTITY.md gives them.
const (
	DefaultFlapLimit  = 15
	DefaultFlapWindow = time.Minute
	DefaultFlapBan    = 5 * time.Minute
)

func defaultOptions() options {
	return options{
		flapLimit:  DefaultFlapLimit,
		flapWindow: DefaultFlapWindow,
		flapBan:    DefaultFlapBan,
		closeCID:   func(string, protocol.Reason) {},
		closeAddr:  func(func(string) bool, protocol.Reason) {},
		onEvent:    func(Event) {},
		log:        zap.NewNop(),
		sweep:      200 * time.Millisecond,
		retryMin:   expiryRetryMin,
		retryMax:   expiryRetryMax,
	}
}

// WithStore persists credentials and bans in st and applies its Watch.
// Without it the service keeps them in memory only.
func WithStore(st Store) Option { return func(o *options) { o.store = st } }

// WithRequireCredentials refuses client IDs that have no credential
// (--require-credentials).
func WithRequireCredentials(on bool) Option { return func(o *options) { o.require = on } }

// WithFlapping bans a client ID for ban once limit registrations of it fall
// within window (--flap-limit, --flap-window, --flap-ban); limit 0 turns it
// off.
func WithFlapping(limit int, window, ban time.Duration) Option {
	return func(o *options) { o.flapLimit, o.flapWindow, o.flapBan = limit, window, ban }
}

// WithCloser is how the service closes the live session of a client ID
// (190 revoked when its credential is deleted, 190 banned on an operator's
// ban). It is called from the service's goroutines, never from an event
// loop, and must not block for long.
func WithCloser(f func(cid string, r protocol.Reason)) Option {
	return func(o *options) {
		if f != nil {
			o.closeCID = f
		}
	}
}

// WithAddrCloser is how the service closes the live sessions whose client
// address match accepts (an operator's ip or net ban, with ReasonBanned).
// Same rules as WithCloser.
func WithAddrCloser(f func(match func(cip string) bool, r protocol.Reason)) Option {
	return func(o *options) {
		if f != nil {
			o.closeAddr = f
		}
	}
}

// WithOnEvent receives credential.created/deleted and ban.created/deleted
// (a ban's expiry included) for the event log. It is called once per change
// on the node that made it, before the change closes any session there
// (so that a disconnect it causes comes after it), from admin goroutines,
// the service's own goroutines, or (for a flapping ban) an event loop: it
// must not block.
func WithOnEvent(f func(Event)) Option {
	return func(o *options) {
		if f != nil {
			o.onEvent = f
		}
	}
}

// WithLogger sets the zap logger. Secrets are never logged.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithSweepInterval sets how often expired bans and grace periods are
// removed (default 200ms). Lookups never honour an expired entry, whatever
// the interval.
func WithSweepInterval(d time.Duration) Option {
	return func(o *options) { opt.Positive(&o.sweep, d) }
}
