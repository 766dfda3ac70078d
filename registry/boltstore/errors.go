package boltstore

import "errors"

// Sentinel errors of the store, in one place. Errors returned by the store
// wrap one of these (or a bbolt / OS error) so callers test with errors.Is.
var (
	// ErrInUse: another process (or another Store in this one) holds the
	// data directory's file lock. Two servers writing one registry would
	// corrupt each other's view, so the second one refuses to start.
	ErrInUse = errors.New("boltstore: data dir in use by another cliser")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("boltstore: store closed")
	// ErrCorrupt: a stored record does not decode. Load stops at the first
	// one rather than start a server that silently forgot clients.
	ErrCorrupt = errors.New("boltstore: corrupt record")
	// ErrDamaged: the registry file is not a sound bbolt database (torn,
	// truncated, overwritten). Open refuses it, naming the file and what
	// to do, rather than let bbolt panic or serve a partial registry.
	ErrDamaged = errors.New("boltstore: registry file damaged")
	// ErrVersion: a stored record has an encoding version this build does
	// not know, most likely written by a newer cliser.
	ErrVersion = errors.New("boltstore: unsupported record version")
)
