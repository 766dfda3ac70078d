package client

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/cliser/cliser/protocol"
)

// Backoff is how Run waits between connection attempts. Zero fields get
// the defaults.
//
//   - After an ordinary failure (dial error, lost connection, keepalive
//     timeout, server shutting down, kicked, server full, ...) the wait is
//     exponential with full jitter: a uniform random time in
//     [0, min(Max, Min*Factor^n)], n the number of failures since the last
//     stable session. Full jitter spreads a fleet that lost its server at
//     the same moment.
//   - After "auth failed", "too many attempts", "bad id", "banned" or
//     "revoked" retrying soon cannot help (the password, the ID or a ban
//     must change first, or the server's per-IP limiter must cool down):
//     the wait is long, a uniform time in [Max/2, Max].
//   - After "replaced" another connection with our ID won. Reconnecting
//     at once would replace it back and the two would fight in a tight
//     loop; so the wait is at least Min and grows with every replacement in
//     a row: uniform in [d/2, d], d = min(Max, Min*Factor^k) for the k-th
//     replacement in a row (a refusal such as "banned" between two
//     replacements does not break the row; another disconnect does). Two
//     agents sharing an ID end up trading the session about once per Max,
//     not thousands of times a second.
type Backoff struct {
	// Min is the base wait. Default 500ms.
	Min time.Duration
	// Max caps every wait. Default 1m.
	Max time.Duration
	// Factor is the growth per failure. Default 2.
	Factor float64
	// StableAfter: a session that lasted at least this long resets the
	// failure count. Default 30s.
	StableAfter time.Duration
}

const (
	defaultBackoffMin    = 500 * time.Millisecond
	defaultBackoffMax    = time.Minute
	defaultBackoffFactor = 2
	defaultStableAfter   = 30 * time.Second
)

func (b Backoff) withDefaults() Backoff {
	b.Min = OrDefault(b.Min, defaultBackoffMin)
	b.Max = max(OrDefault(b.Max, defaultBackoffMax), b.Min)
	if !(b.Factor >= 1) { // NaN too: it made every wait 0
		b.Factor = defaultBackoffFactor
	}
	b.StableAfter = OrDefault(b.StableAfter, defaultStableAfter)
	return b
}

// ceiling is min(Max, Min*Factor^n), without overflow.
func (b Backoff) ceiling(n int) time.Duration {
	d := float64(b.Min)
	for i := 0; i < n && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	if d >= float64(b.Max) { // float64(MaxInt64) converts back to an overflow
		return b.Max
	}
	return time.Duration(d)
}

// backoffKind is the policy a disconnect falls under.
type backoffKind uint8

const (
	backoffNormal   backoffKind = iota
	backoffLong                 // retrying soon cannot help
	backoffReplaced             // do not fight the connection that replaced us
)

func backoffKindOf(r protocol.Reason) backoffKind {
	switch r {
	case protocol.ReasonAuthFailed, protocol.ReasonTooManyAttempts, protocol.ReasonBadID,
		protocol.ReasonBanned, protocol.ReasonRevoked: // an operator must act first
		return backoffLong
	case protocol.ReasonReplaced:
		return backoffReplaced
	default:
		return backoffNormal
	}
}

// delay picks the wait for a kind; n counts the failures (normal) or the
// replacements in a row (replaced), from 0.
func (b Backoff) delay(kind backoffKind, n int) time.Duration {
	switch kind {
	case backoffLong:
		return between(b.Max/2, b.Max)
	case backoffReplaced:
		d := b.ceiling(n + 1)
		return max(b.Min, between(d/2, d))
	default:
		return between(0, b.ceiling(n))
	}
}

// between is uniform in [lo, hi] (but for hi itself when hi-lo is
// MaxInt64: its +1 would overflow).
func between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	n := int64(hi - lo)
	if n < math.MaxInt64 {
		n++
	}
	return lo + time.Duration(rand.Int64N(n))
}
