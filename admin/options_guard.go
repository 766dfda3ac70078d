package admin

import (
	"strings"
	"time"

	"github.com/cliser/cliser/internal/ipkey"
)

// WithAllowedHosts adds host names (besides localhost) that a request's
// Host may name; an IP address always passes. Names are compared without
// case or a trailing dot; a port is ignored. See guard.go for why.
func WithAllowedHosts(names ...string) Option {
	return func(o *options) {
		if o.allowedHosts == nil {
			o.allowedHosts = map[string]bool{}
		}
		for _, n := range names {
			if n = normalHost(strings.TrimSpace(n)); n != "" {
				o.allowedHosts[n] = true
			}
		}
	}
}

// WithAuthFailLimit sets how many wrong tokens one IP may send per window
// before the API answers it 429 (with Retry-After) until the window has
// refilled; limit 0 turns the slowdown off (failures are still counted and
// logged). The default is DefaultAuthFailLimit per defaultAuthFailWindow.
func WithAuthFailLimit(limit int, window time.Duration) Option {
	return func(o *options) { o.authFailLimit, o.authFailWindow = max(limit, 0), window }
}

// WithIPv6GuardPrefix makes the wrong-token limit count an IPv6 client by
// its network of bits, as the protocol side's per-IP limits do with the
// same setting (--ipv6-guard-prefix): a host given a /64 could otherwise
// take a fresh address, and a fresh bucket, for each guess. IPv4 and
// IPv4-mapped clients count by address; 128 counts each address alone.
// bits outside 16..128 are taken as the nearer bound (cliser serve refuses
// them before). The default is ipkey.DefaultIPv6Prefix (64).
func WithIPv6GuardPrefix(bits int) Option {
	return func(o *options) { o.ipv6GuardBits = min(max(bits, ipkey.MinIPv6Prefix), ipkey.MaxIPv6Prefix) }
}
