package registry

import "errors"

// Sentinel errors of the registry.
var (
	// ErrFull: no sid is free, or max clients are connected.
	ErrFull = errors.New("registry: server full")
	// ErrNotFound: no record with that client ID.
	ErrNotFound = errors.New("registry: no such client")
	// ErrNotConnected: the record exists but its client is not connected.
	ErrNotConnected = errors.New("registry: client not connected")
)
