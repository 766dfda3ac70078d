package logstore

import "errors"

// Sentinel errors of the store, in one place. Errors returned by the store
// wrap one of these (or an OS error) so callers test with errors.Is.
var (
	// ErrInUse: another process (or another Store in this one) holds the
	// data directory's file lock. Two servers writing one registry would
	// corrupt each other's view, so the second one refuses to start.
	ErrInUse = errors.New("logstore: data dir in use by another cliser")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("logstore: store closed")
	// ErrCorrupt: a stored record or entry does not decode. Load stops at
	// the first one rather than start a server that silently forgot
	// clients.
	ErrCorrupt = errors.New("logstore: corrupt data")
	// ErrDamaged: a registry file is not sound (torn, truncated,
	// overwritten, a checksum that does not match). Open refuses it,
	// naming the file and what to do, rather than serve a partial
	// registry.
	ErrDamaged = errors.New("logstore: registry file damaged")
	// ErrMissing: registry.snap is gone beside a log that follows it.
	// Open refuses rather than start on the log's changes alone.
	ErrMissing = errors.New("logstore: registry file missing")
	// ErrTwoBuilds: a registry.db beside registry.db.migrated: an older
	// build wrote it after this data dir's registry moved to the snapshot
	// and the log (a downgrade). Open refuses to choose between them.
	ErrTwoBuilds = errors.New("logstore: registry files of two builds")
	// ErrVersion: a stored record or file has an encoding version this
	// build does not know, most likely written by a newer cliser.
	ErrVersion = errors.New("logstore: unsupported version")
)
