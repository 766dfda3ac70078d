package reactor

import "errors"

// Sentinel errors of the reactor.
var (
	// ErrNoPassword: the server was given no password to accept.
	ErrNoPassword = errors.New("reactor: no password configured")
	// ErrNoRegistry: New was given a nil registry.
	ErrNoRegistry = errors.New("reactor: no registry")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("reactor: already started")
	// ErrNotStarted: Stop before Start.
	ErrNotStarted = errors.New("reactor: not started")
	// ErrBadOption: an option's value is out of range; the error says which.
	ErrBadOption = errors.New("reactor: bad option")
)
