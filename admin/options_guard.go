package admin

import (
	"strings"
	"time"
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
// logged). The default is DefaultAuthFailLimit per DefaultAuthFailWindow.
func WithAuthFailLimit(limit int, window time.Duration) Option {
	return func(o *options) { o.authFailLimit, o.authFailWindow = max(limit, 0), window }
}
