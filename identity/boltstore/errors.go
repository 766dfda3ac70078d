package boltstore

import "errors"

// Sentinel errors of the store.
var (
	// ErrCorrupt: a stored entry does not decode.
	ErrCorrupt = errors.New("identity boltstore: corrupt entry")
	// ErrCut: the file is shorter than the database open on it (cut while
	// the server ran).
	ErrCut = errors.New("identity boltstore: file cut under the running server")
	// ErrInUse: another process holds the file's lock.
	ErrInUse = errors.New("identity boltstore: data dir in use by another process")
)
