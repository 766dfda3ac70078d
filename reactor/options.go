package reactor

import (
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/pires/go-proxyproto"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/ipkey"
)

// Option configures a Server (functional options, as gnet's).
type Option func(*options)

type options struct {
	addr             string
	passwords        [][]byte
	keepInterval     time.Duration
	keepTimeout      time.Duration
	handshakeTimeout time.Duration
	maxConns         int // open TCP connections, handshaking ones included
	fdReserve        int // descriptors kept besides clients: the ceiling follows the open-files limit less these
	maxBacklog       int // outbound bytes a client may leave unread
	loops            int
	tick             time.Duration
	logger           *zap.Logger
	observer         Observer
	authFailLimit    int
	authFailWindow   time.Duration
	maxPendingPerIP  int
	ipv6GuardBits    int // limits.go: an IPv6 address counts as its /ipv6GuardBits
	proxyProtocol    bool
	identity         Identity
	proxyTrusted     []string                  // proxy_trust.go
	proxyPolicy      proxyproto.ConnPolicyFunc // built from proxyTrusted
	requireCertCN    bool                      // cert.go
	refusalLogEvery  time.Duration             // refusallog.go
}

// Defaults, as INTERFACE.md gives them.
const (
	DefaultAddr             = ":7070"
	DefaultKeepInterval     = 30 * time.Second
	DefaultKeepTimeout      = 10 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxBacklog       = 64 << 10
	DefaultAuthFailLimit    = 10
	DefaultAuthFailWindow   = time.Minute
	DefaultMaxPendingPerIP  = 512
	// DefaultIPv6GuardPrefix: the per-IP limits count an IPv6 client by
	// its /64 (ipkey.DefaultIPv6Prefix, the admin API's default too).
	DefaultIPv6GuardPrefix = ipkey.DefaultIPv6Prefix
	// fdReserve is kept free below the open-files limit for the listener,
	// the admin API, the store and logs: an accept that hits EMFILE stops
	// gnet's whole engine, so cliser refuses clients well before that.
	fdReserve = 256
)

func defaultOptions() options {
	return options{
		addr:             DefaultAddr,
		keepInterval:     DefaultKeepInterval,
		keepTimeout:      DefaultKeepTimeout,
		handshakeTimeout: DefaultHandshakeTimeout,
		maxConns:         DefaultMaxConns(),
		fdReserve:        fdReserve,
		maxBacklog:       DefaultMaxBacklog,
		loops:            runtime.NumCPU(),
		logger:           zap.NewNop(),
		refusalLogEvery:  refusalLogEvery,
		observer:         nopObserver{},
		authFailLimit:    DefaultAuthFailLimit,
		authFailWindow:   DefaultAuthFailWindow,
		maxPendingPerIP:  DefaultMaxPendingPerIP,
		ipv6GuardBits:    DefaultIPv6GuardPrefix,
		identity:         sharedOnly{},
	}
}

// DefaultMaxConns is the default ceiling on open connections: the process's
// open-files limit less a reserve, so that EMFILE never reaches gnet's
// acceptor.
func DefaultMaxConns() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<20 {
		return 1 << 20
	}
	return max(int(lim.Cur)-fdReserve, 1)
}

// WithAddr sets the TCP address to listen on ("host:port"; port 0 picks one).
func WithAddr(addr string) Option { return func(o *options) { o.addr = addr } }

// WithPasswords sets the accepted passwords; more than one allows rotation.
func WithPasswords(pw [][]byte) Option { return func(o *options) { o.passwords = pw } }

// WithKeepAlive sets the time between keep-alives and how long a client has
// to echo one.
func WithKeepAlive(interval, timeout time.Duration) Option {
	return func(o *options) { o.keepInterval, o.keepTimeout = interval, timeout }
}

// WithHandshakeTimeout sets how long a new connection has for password and ID.
func WithHandshakeTimeout(d time.Duration) Option { return func(o *options) { o.handshakeTimeout = d } }

// WithMaxConns caps open TCP connections; the surplus gets "190 server full".
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithFDReserve sets the descriptors the process keeps besides clients
// (FDReserve by default; the admin listener's cap more in `cliser
// serve`): when the open-files limit is lowered under the running
// server, the ceiling comes down to the new limit less these (fdlimit.go).
func WithFDReserve(n int) Option { return func(o *options) { o.fdReserve = n } }

// WithMaxBacklog caps the outbound bytes a client may leave unread before it
// is dropped as a slow consumer.
func WithMaxBacklog(n int) Option { return func(o *options) { o.maxBacklog = n } }

// WithLoops sets the number of event loops (default: one per CPU).
func WithLoops(n int) Option { return func(o *options) { o.loops = n } }

// WithTick sets the timing wheel's resolution. By default it is derived from
// the timeouts (a thousandth of the shortest, between 1ms and 100ms):
// keep-alives fall due per tick, so a coarse tick sends them in bursts, and
// the clients at the end of a burst see it as latency. At the defaults
// (10s timeouts) that is 10ms; a tick costs one task per loop.
func WithTick(d time.Duration) Option { return func(o *options) { o.tick = d } }

// WithLogger sets the zap logger; gnet's own logs go to it too.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.logger = l } }

// WithObserver receives the reactor's events, for metrics.
func WithObserver(ob Observer) Option { return func(o *options) { o.observer = ob } }

// WithAuthFailLimit bans an IP for window after limit authentication
// failures within window ("190 too many attempts"); limit 0 disables.
func WithAuthFailLimit(limit int, window time.Duration) Option {
	return func(o *options) { o.authFailLimit, o.authFailWindow = limit, window }
}

// WithMaxHandshakesPerIP caps one IP's connections still in their handshake
// ("190 server full" for the surplus); 0 disables.
func WithMaxHandshakesPerIP(n int) Option { return func(o *options) { o.maxPendingPerIP = n } }

// WithIPv6GuardPrefix makes the per-IP limits (WithAuthFailLimit,
// WithMaxHandshakesPerIP) count an IPv6 client by its /bits network
// (16..128; 128: each address alone). IPv4 clients count by address.
func WithIPv6GuardPrefix(bits int) Option { return func(o *options) { o.ipv6GuardBits = bits } }

// WithProxyProtocol expects a PROXY protocol v1 or v2 header at the start of
// every connection and takes cip and cport from it.
func WithProxyProtocol(on bool) Option { return func(o *options) { o.proxyProtocol = on } }

// DefaultTick is the wheel's tick when WithTick does not set one: a
// thousandth of the shortest of the three durations, between 1ms and 100ms.
func DefaultTick(keepInterval, keepTimeout, handshakeTimeout time.Duration) time.Duration {
	shortest := min(keepInterval, keepTimeout, handshakeTimeout)
	return min(max(shortest/1000, time.Millisecond), 100*time.Millisecond)
}

// idleTick is the longest the ticker sleeps while no wheel has anything
// due: an empty server's ticker woke a thousand times a second at the
// 1ms tick (2.9% of a core, issue 17). Nothing scheduled from outside a
// walk falls due sooner than the shortest of the three durations, so a
// tenth of it loses no deadline; 100ms at most.
func (o *options) idleTick() time.Duration {
	shortest := min(o.keepInterval, o.keepTimeout, o.handshakeTimeout)
	return max(min(shortest/10, 100*time.Millisecond), o.tick)
}

func (o *options) validate() error {
	switch {
	case len(o.passwords) == 0 && !o.identity.RequireCredentials():
		return ErrNoPassword
	case o.keepInterval <= 0 || o.keepTimeout <= 0 || o.handshakeTimeout <= 0:
		return fmt.Errorf("%w: keep-alive interval and timeout and handshake timeout must be positive", ErrBadOption)
	case o.maxConns <= 0:
		return fmt.Errorf("%w: max connections must be positive", ErrBadOption)
	case o.loops <= 0:
		return fmt.Errorf("%w: event loops must be positive", ErrBadOption)
	case o.authFailLimit < 0 || o.maxPendingPerIP < 0:
		return fmt.Errorf("%w: per-IP limits must not be negative", ErrBadOption)
	case o.ipv6GuardBits < ipkey.MinIPv6Prefix || o.ipv6GuardBits > ipkey.MaxIPv6Prefix:
		return fmt.Errorf("%w: the IPv6 guard prefix must be %d..%d bits, got %d", ErrBadOption, ipkey.MinIPv6Prefix, ipkey.MaxIPv6Prefix, o.ipv6GuardBits)
	case o.authFailLimit > 0 && o.authFailWindow <= 0:
		return fmt.Errorf("%w: the auth-failure window must be positive", ErrBadOption)
	}
	if err := o.buildProxyPolicy(); err != nil {
		return err
	}
	if o.requireCertCN && o.proxyPolicy == nil {
		return fmt.Errorf("%w: the certificate CN check needs trusted PROXY senders", ErrBadOption)
	}
	// A session keeps its due tick in 32 bits (wheel.go): the longest
	// duration must span fewer than maxTicksAhead ticks. Only a duration of
	// weeks, or a tick set finer than a millisecond, comes near it.
	longest := max(o.keepInterval, o.keepTimeout, o.handshakeTimeout)
	switch {
	case o.tick <= 0:
		o.tick = max(DefaultTick(o.keepInterval, o.keepTimeout, o.handshakeTimeout), longest/maxTicksAhead+1)
	case longest/o.tick >= maxTicksAhead:
		return fmt.Errorf("%w: the tick %v is too fine for %v: a duration spans at most %d ticks", ErrBadOption, o.tick, longest, maxTicksAhead)
	}
	return nil
}

// maxTicksAhead bounds how far ahead the wheel schedules, in ticks: a
// session's tick is wrap-safe within 2^31 of the wheel's (wheel.dueTick),
// and half of that leaves room for a loop that stalls. 12 days at a 1ms
// tick.
const maxTicksAhead = 1 << 30
