package boltstore

import "errors"

// Sentinel errors of the store.
var (
	// ErrCorrupt: a stored entry does not decode.
	ErrCorrupt = errors.New("identity boltstore: corrupt entry")
	// ErrInUse: another process holds the file's lock.
	ErrInUse = errors.New("identity boltstore: data dir in use by another process")
)
