// Package logstore keeps cliser's client registry on disk in the data dir,
// as a snapshot and a log of the changes since it. It implements
// registry.Store: the registry loads it once at start and its flusher
// saves batches of changed records behind the hot path.
//
//   - <data-dir>/registry.log: a Save appends its batch as one frame, one
//     write and one fdatasync. Nothing in it is ever rewritten in place.
//   - <data-dir>/registry.snap: every record as of some point of the log,
//     written whole and in one pass (compact.go) once the log has grown
//     past the snapshot, then renamed over the old one; the log then starts
//     again.
//
// Load is the snapshot with the log replayed over it. Why not bbolt, as
// before: a flush of a burst's registrations (ids scattered over the cid
// order) made bbolt rewrite a 4 KiB leaf per record, 12% of the server's
// CPU in the harness's bursts (docs/performance-journal.md, sessions 6 to
// 8). A previous build's registry.db is read once, at the first Open, and
// becomes the first snapshot (legacy.go).
//
// The log file also carries the data dir's lock (flock), so a second
// server on the same dir refuses to start.
package logstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cliser/cliser/internal/fsx"
	"github.com/cliser/cliser/registry"
)

// File names inside the data dir.
const (
	SnapName = "registry.snap"
	LogName  = "registry.log"
)

// Store is a registry.Store on a snapshot and a log. Every method is safe
// to call from any goroutine; they run one at a time. The registry itself
// calls it one call at a time.
type Store struct {
	mu   sync.Mutex
	o    options
	dir  string
	log  *os.File // nil once closed; holds the dir's lock
	snap *os.File // the snapshot, kept open (place.go); nil when there is none
	lost bool     // the files left their paths and are not back yet (place.go)

	logEnd     int64 // where the next frame goes; past it is nothing of ours
	logEntries int   // entries in the log since the snapshot
	snapCount  int   // records in the snapshot
	// retryAt: a compaction failed; the next is tried once the log holds
	// this many entries, not on every Save.
	retryAt   int
	lastQuiet bool // the last Save was a quiet one (compact.go)
	// compactErr: the last compaction failed (at compactTried) and none
	// has succeeded since the first of those failures (compactFailed).
	compactErr                  error
	compactFailed, compactTried time.Time

	buf []byte // Save's and compaction's encoding, kept between calls

	// emptyFile: a registry file found empty, for EmptyFile, and
	// emptyStart what starting on it meant.
	emptyFile, emptyStart string
	logExisted            bool // registry.log was there before Open
	missingLog            bool // registry.log was not there beside a snapshot of records
	followsSnap           bool // the log begins with the snapshot mark (format.go)

	hook func(stage string) // tests: called at the steps of a compaction

	count counters // stats.go
}

var _ registry.AdvisingStore = (*Store)(nil)

// WhatToFix is what an operator does when writes fail.
func (s *Store) WhatToFix() string {
	return "free space in the data dir, or fix its permissions; nothing needs a restart"
}

// Open creates dir when needed (mode 0700: records hold client addresses),
// takes its lock, migrates a previous build's registry.db, and checks the
// snapshot and the log, so that damage is refused here, before anything
// is served, with an error wrapping ErrDamaged that names the file and
// says what to do. A log whose last Save was cut short by a crash is
// trimmed to its last whole frame. When another process (or another open
// Store) holds the lock for longer than the lock timeout, it fails with an
// error wrapping ErrInUse that names the dir.
func Open(dir string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("logstore: data dir %s: it (or a dir above it) is a file, not a directory; "+
				"give --data-dir a directory, or move the file away: %w", dir, err)
		}
		return nil, fmt.Errorf("logstore: data dir: %w", err)
	}
	s := &Store{o: o, dir: dir, lastQuiet: true} // no burst before the first Save
	_, statErr := os.Lstat(s.logPath())
	s.logExisted = statErr == nil
	f, err := fsx.OpenLocked(s.logPath(), o.fileMode, o.lockTimeout)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("%w: %s (lock on %s not free after %v)", ErrInUse, dir, LogName, o.lockTimeout)
	}
	if errors.Is(err, syscall.EISDIR) {
		return nil, fmt.Errorf("logstore: %s is not a regular file but a directory: cliser will not start on it; move it away", s.logPath())
	}
	if err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	s.log = f
	if err := s.open(); err != nil {
		_ = f.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) logPath() string  { return filepath.Join(s.dir, LogName) }
func (s *Store) snapPath() string { return filepath.Join(s.dir, SnapName) }

// EmptyFile names a registry file Open found empty and took for a new
// one (zero bytes; the log, shorter than its header), and what starting
// on it means ("starting with an empty registry", or from the snapshot's
// records); path is "" when none was. The caller should tell the
// operator: such a file is more often one lost to a full disk or a bad
// copy than a new one. Call it after Open, before the first Save.
func (s *Store) EmptyFile() (path, starting string) { return s.emptyFile, s.emptyStart }

// MissingLog reports whether Open found registry.snap's records without
// the registry.log that always follows a snapshot (removed, or left out of
// a copy of the data dir): the changes since the snapshot are lost, and
// the caller should tell the operator. Call it after Open.
func (s *Store) MissingLog() bool { return s.missingLog }

// Dir is the data dir. Safe to call from any goroutine.
func (s *Store) Dir() string { return s.dir }

// Load returns every stored record, in cid order: each cid's last state,
// from the snapshot and the log, folded as a compaction folds them (the
// log's superseded entries are checked by their frames' CRC, not decoded:
// a restart decodes each record once, whatever the log's length). It
// fails on the first record that does not decode (the error wraps
// ErrCorrupt or ErrVersion and names the cid and the file), rather than
// start a server that silently lost clients. Safe to call from any
// goroutine, also while a Save runs; it then sees the state before or
// after that Save, never half.
func (s *Store) Load() ([]registry.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return nil, fmt.Errorf("%w: load %s", ErrClosed, s.dir)
	}
	logBytes, err := mapFile(s.log, s.logEnd)
	if err != nil {
		return nil, fmt.Errorf("logstore: map %s: %w", s.logPath(), err)
	}
	defer unmap(logBytes)
	t, err := newLastEntries(logBytes, s.logEntries)
	if err != nil {
		return nil, err
	}
	defer t.release()
	snap, release, err := s.mapSnapshot()
	if err != nil {
		return nil, err
	}
	defer release()
	out := make([]registry.Record, 0, s.snapCount)
	decodeFrom := func(path string) func(entry) error {
		return func(e entry) error {
			if e.kind != kindPut {
				return nil // deleted
			}
			rec, err := decodeRecord(e.cid, e.value)
			if err != nil {
				return fmt.Errorf("load %s: %w", path, err)
			}
			out = append(out, rec)
			return nil
		}
	}
	if err := s.merge(decodeFrom(s.snapPath()), decodeFrom(s.logPath()), t, snap); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b registry.Record) int { return strings.Compare(a.CID, b.CID) })
	return out, nil
}

var _ registry.CopyingStore = (*Store)(nil)

// CopiesRecords says that Save keeps nothing of its records: it encodes
// them into the log's frame (registry.CopyingStore).
func (*Store) CopiesRecords() {}

// Close releases the files and the data dir's lock. Calling it again does
// nothing. After Close, Load and Save fail with ErrClosed. Safe to call
// from any goroutine.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return nil
	}
	err := s.log.Close()
	s.log = nil
	if s.snap != nil {
		_ = s.snap.Close()
		s.snap = nil
	}
	if err != nil {
		return fmt.Errorf("logstore: close %s: %w", s.logPath(), err)
	}
	return nil
}
