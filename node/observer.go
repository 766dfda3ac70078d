package node

import (
	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/reactor"
)

// The admin metrics are the reactor's observer. The assertion lives here,
// where both are wired, so that admin need not import the reactor.
var (
	_ reactor.Observer      = (*admin.Metrics)(nil)
	_ reactor.ProxyObserver = (*admin.Metrics)(nil)
	_ reactor.CapObserver   = (*admin.Metrics)(nil)
)
