package events

import "errors"

// Sentinel errors.
var (
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("events: log closed")
	// ErrCorrupt: a stored event could not be read back.
	ErrCorrupt = errors.New("events: corrupt event")
)
