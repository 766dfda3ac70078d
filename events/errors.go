package events

import "errors"

// Sentinel errors.
var (
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("events: log closed")
	// ErrCorrupt: a stored event could not be read back.
	ErrCorrupt = errors.New("events: corrupt event")
	// ErrUnavailable: the cluster's stream could not be read now (NATS
	// away, a stream between two leaders); nothing is wrong with the
	// request, and the same read may work a moment later.
	ErrUnavailable = errors.New("events: the event stream can not be read now; try again")
)
