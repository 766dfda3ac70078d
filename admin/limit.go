package admin

import (
	"net"

	"golang.org/x/net/netutil"
)

// DefaultMaxConns caps the admin listener's open connections. Idle HTTP
// connections need no token (/healthz), so without a cap anyone who can
// reach the admin port could take every file descriptor the process has,
// and the protocol's next accept would fail. The cap is part of the
// descriptor reserve that `cliser serve` keeps below the open-files limit.
const DefaultMaxConns = 256

// WithMaxConns caps the admin listener's open connections at n; a
// connection past the cap waits in the kernel's accept queue (it costs
// the process no descriptor) until one closes. The HTTP server's timeouts
// free a slot held by an idle peer within seconds. n <= 0 leaves the
// default.
func WithMaxConns(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxConns = n
		}
	}
}

// limit wraps ln with the connection cap (x/net's LimitListener: Accept
// waits for a free slot before it takes a descriptor).
func (a *API) limit(ln net.Listener) net.Listener {
	return netutil.LimitListener(ln, a.opts.maxConns)
}
