package events

import (
	"errors"

	"github.com/cliser/cliser/internal/boltkeep"
)

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
	// ErrNotStored is Stored's answer while the writer is failing (the
	// stream's, NATS away; the log's, its disk) or stopped: the events
	// wait in the queue, and waiting for them would only hold the caller
	// back.
	ErrNotStored = errors.New("events: the event log's writer is failing; queued events are not stored yet")
	// ErrFileCut: the single node's log file was cut under the running
	// server; it is neither read nor written until a restart.
	ErrFileCut = boltkeep.ErrCut
)
