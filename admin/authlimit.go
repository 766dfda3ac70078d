package admin

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/cliser/cliser/internal/ipkey"
)

// Wrong admin tokens are counted, logged at most once a minute, and slowed
// per IP: each address has a bucket of DefaultAuthFailLimit wrong tokens
// that refills at that many per defaultAuthFailWindow. An IPv6 client's
// "address" is its network of WithIPv6GuardPrefix bits (ipkey.Of, as the
// protocol side counts it): one host holds a whole /64 and could take a
// fresh address, and a fresh bucket, for each guess. With the bucket
// empty, every request of that address that needs the token is answered
// 429 with Retry-After, the right token included: were the right one let
// through, the 429 itself would tell a guesser which guess was right.

const (
	// DefaultAuthFailLimit and defaultAuthFailWindow: 10 wrong tokens a
	// minute per IP, then 429 (WithAuthFailLimit).
	DefaultAuthFailLimit  = 10
	defaultAuthFailWindow = time.Minute

	// MetricAdminAuthFailures counts requests refused 401 by reason
	// ("missing" or "wrong" token); MetricAdminAuthThrottled the 429s.
	MetricAdminAuthFailures  = "cliser_admin_auth_failures_total"
	MetricAdminAuthThrottled = "cliser_admin_auth_throttled_total"

	// authLogEvery is the most often a failure line is logged.
	authLogEvery = time.Minute
	// authMaxIPs bounds the addresses (IPv6: networks) tracked; past it
	// the untracked ones share one bucket, so a spray of addresses cannot
	// grow memory.
	authMaxIPs = 10000
	// authMaxKnown bounds the addresses remembered for having sent the
	// right token within authKnownFor: they keep a bucket of their own
	// past authMaxIPs. A spray of wrong tokens from over 10,000 addresses
	// emptied the shared bucket, and the operator's tools and the
	// Prometheus scrape got 429 with it for as long as the spray lasted
	// (leak audit); the right token is no guess a spray can make.
	authMaxKnown = 1000
	authKnownFor = 24 * time.Hour
)

// lockout says when an address is answered 429, for a wrong token's
// answer: "" with no limit.
func (l *authLimiter) lockout() string {
	if l.burst == 0 {
		return ""
	}
	window := time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
	return fmt.Sprintf("; %d wrong tokens from one address within %v make it wait (429)", l.burst, window)
}

// authLimiter is the per-IP slowdown, the counters and the log line. Safe
// for concurrent use.
type authLimiter struct {
	limit    rate.Limit
	burst    int // 0: no slowdown
	v6Bits   int // an IPv6 client counts as its network of this many bits
	failures *prometheus.CounterVec
	missing  prometheus.Counter
	wrong    prometheus.Counter
	throttle prometheus.Counter
	log      *zap.Logger
	logEvery time.Duration

	mu        sync.Mutex
	ips       map[string]*rate.Limiter
	maxIPs    int                  // authMaxIPs; smaller in tests
	known     map[string]time.Time // keys that sent the right token, and when last
	overflow  *rate.Limiter
	lastPrune time.Time
	// the log line: what happened since the last one
	lastLog   time.Time
	unlogged  int
	throttled int
	lastIP    string // the last refused request's address
	lastKey   string // what lastIP counts as (its IPv6 network)
	limited   string // the key last answered 429 since the last line
	timer     *time.Timer
	stopped   bool // the listener closed: no timer any more
}

func newAuthLimiter(o options) *authLimiter {
	l := &authLimiter{
		log:      o.log,
		logEvery: authLogEvery,
		v6Bits:   o.ipv6GuardBits,
		ips:      make(map[string]*rate.Limiter),
		maxIPs:   authMaxIPs,
		known:    make(map[string]time.Time),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricAdminAuthFailures,
			Help: `Admin API requests refused for a "missing" or "wrong" bearer token.`,
		}, []string{"reason"}),
		throttle: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricAdminAuthThrottled,
			Help: "Admin API requests answered 429: their address (IPv6: its network) sent too many wrong tokens.",
		}),
	}
	if o.metrics != nil {
		l.failures = registerOrReuse(o.metrics.Registry(), l.failures)
		l.throttle = registerOrReuse(o.metrics.Registry(), l.throttle)
	}
	l.missing, l.wrong = l.failures.WithLabelValues("missing"), l.failures.WithLabelValues("wrong")
	if o.authFailLimit > 0 && o.authFailWindow > 0 {
		l.burst = o.authFailLimit
		l.limit = rate.Limit(float64(o.authFailLimit) / o.authFailWindow.Seconds())
		l.overflow = rate.NewLimiter(l.limit, l.burst)
	}
	return l
}

// authLimiter is the API's one limiter, made on first use.
func (a *API) authLimiter() *authLimiter {
	a.authOnce.Do(func() { a.authLim.Store(newAuthLimiter(a.opts)) })
	return a.authLim.Load()
}

// stopAuthLog logs what the limiter has not told yet and stops its timer,
// so that no line comes after the listener closed. Safe from any goroutine.
func (a *API) stopAuthLog() {
	if l := a.authLim.Load(); l != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.timer != nil {
			l.timer.Stop()
			l.timer = nil
		}
		if l.unlogged > 0 || l.throttled > 0 {
			l.logLocked(time.Now())
		}
		l.stopped = true
	}
}

// registerOrReuse registers c, or returns the collector already there
// (one Metrics shared by several APIs, or Handler called twice).
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}

// key is what the limiter counts ip as: the address, or an IPv6 one's
// network ("2001:db8:1:2::/64").
func (l *authLimiter) key(ip string) string { return ipkey.Of(ip, l.v6Bits) }

// retryAfter is how long ip, counted as key, must wait before it may try a
// token again; 0 when it may now.
func (l *authLimiter) retryAfter(ip, key string, now time.Time) time.Duration {
	if l.burst == 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now, false)
	if b == nil {
		return 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	l.throttle.Inc()
	l.throttled++
	l.limited = key
	l.noteLocked(ip, key, now)
	return time.Duration((1 - tokens) / float64(l.limit) * float64(time.Second))
}

// failed records a refused token from ip, counted as key. Only a wrong
// token takes from the bucket: a missing one tells a guesser nothing.
func (l *authLimiter) failed(ip, key string, wrong bool, now time.Time) {
	if wrong {
		l.wrong.Inc()
	} else {
		l.missing.Inc()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if wrong && l.burst > 0 {
		l.bucketLocked(key, now, true).AllowN(now, 1)
	}
	l.unlogged++
	l.noteLocked(ip, key, now)
}

// succeeded notes that key sent the right token (knownLocked).
func (l *authLimiter) succeeded(key string, now time.Time) {
	if l.burst == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.known[key]; !ok && len(l.known) >= authMaxKnown {
		for k, at := range l.known {
			if now.Sub(at) >= authKnownFor {
				delete(l.known, k)
			}
		}
		if len(l.known) >= authMaxKnown {
			return // a thousand addresses in a day: the newest share the table's lot
		}
	}
	l.known[key] = now
}

// knownLocked reports whether key sent the right token within
// authKnownFor: past the table's bound it keeps a bucket of its own.
func (l *authLimiter) knownLocked(key string, now time.Time) bool {
	at, ok := l.known[key]
	return ok && now.Sub(at) < authKnownFor
}

// bucketLocked finds key's bucket, making it when create is set. Past
// maxIPs an address not known shares the overflow bucket.
func (l *authLimiter) bucketLocked(key string, now time.Time, create bool) *rate.Limiter {
	if b, ok := l.ips[key]; ok {
		return b
	}
	full := len(l.ips) >= l.maxIPs && !l.knownLocked(key, now)
	if !create {
		if full {
			return l.overflow
		}
		return nil
	}
	if len(l.ips) >= l.maxIPs/2 && now.Sub(l.lastPrune) >= time.Second {
		l.pruneLocked(now)
		full = len(l.ips) >= l.maxIPs && !l.knownLocked(key, now)
	}
	if full {
		return l.overflow
	}
	b := rate.NewLimiter(l.limit, l.burst)
	l.ips[key] = b
	return b
}

// pruneLocked forgets the addresses whose bucket has refilled.
func (l *authLimiter) pruneLocked(now time.Time) {
	l.lastPrune = now
	for ip, b := range l.ips {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.ips, ip)
		}
	}
}

// noteLocked logs what happened since the last line, at most once per
// logEvery; what comes within the interval is told by a line at its end.
func (l *authLimiter) noteLocked(ip, key string, now time.Time) {
	l.lastIP, l.lastKey = ip, key
	if now.Sub(l.lastLog) >= l.logEvery {
		l.logLocked(now)
		return
	}
	if l.timer == nil && !l.stopped {
		l.timer = time.AfterFunc(l.lastLog.Add(l.logEvery).Sub(now), func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.timer = nil
			if !l.stopped && (l.unlogged > 0 || l.throttled > 0) {
				l.logLocked(time.Now())
			}
		})
	}
}

// logLocked writes the line: besides the counts, the last address and,
// when it counts as its IPv6 network, that network (counted_as), and the
// address or network last answered 429 (limited), so that an operator sees
// which block is slowed.
func (l *authLimiter) logLocked(now time.Time) {
	fields := []zap.Field{zap.Int("failures", l.unlogged), zap.Int("throttled", l.throttled), zap.String("last_ip", l.lastIP)}
	if l.lastKey != l.lastIP {
		fields = append(fields, zap.String("counted_as", l.lastKey))
	}
	if l.throttled > 0 {
		fields = append(fields, zap.String("limited", l.limited))
	}
	if !l.lastLog.IsZero() { // the first line has no line before it
		fields = append(fields, zap.Duration("since_last_line", now.Sub(l.lastLog).Round(time.Second)))
	}
	// Where to look: the line was read as an attack when it is most often
	// a tool left with the token before a rotation (log audit).
	l.log.Warn("admin: requests with a missing or wrong token (the token is never logged): a tool at last_ip "+
		"still sends a token from before a rotation (CLISER_ADMIN_TOKEN, a script, a scraper), or someone guesses; "+
		"see docs/security.md", fields...)
	l.lastLog, l.unlogged, l.throttled = now, 0, 0
}

// remoteIP is the address the request came from (no proxy header is
// trusted: the admin API is not meant to sit behind one).
func remoteIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// tooManyFailures answers 429 with Retry-After in whole seconds; the
// error names the network when the address counts as one.
func tooManyFailures(w http.ResponseWriter, ip, key string, wait time.Duration) {
	secs := strconv.Itoa(max(int(math.Ceil(wait.Seconds())), 1))
	from := "this address"
	if key != ip {
		from = "this address's network " + key
	}
	w.Header().Set("Retry-After", secs)
	writeJSON(w, http.StatusTooManyRequests, ErrorResponse{
		Error: "too many wrong admin tokens from " + from + "; try again in " + secs + "s",
	})
}
