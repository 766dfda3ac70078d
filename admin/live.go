package admin

// WithLive sets the liveness check behind /healthz
// (reactor.Server.Alive: the protocol engine runs). While it says false,
// /healthz answers 503, so a supervisor that probes it restarts a process
// whose listener is dead although its HTTP side still answers. By default
// the API is always live.
func WithLive(live func() bool) Option {
	return func(o *options) {
		if live != nil {
			o.live = live
		}
	}
}
