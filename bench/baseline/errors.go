package baseline

import "errors"

// Sentinel errors of the baseline server, in one place.
var (
	// ErrNoPassword: the Config accepts no password, so no client could
	// ever register. The server refuses to start rather than lock everyone out.
	ErrNoPassword = errors.New("baseline: no password configured")
	// ErrBadPassword: a configured password breaks the field rule, so no
	// client could ever send it.
	ErrBadPassword = errors.New("baseline: configured password breaks the field rule")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("baseline: server already started")
	// ErrServerStopped: a command reached a server that has stopped.
	ErrServerStopped = errors.New("baseline: server stopped")
)
