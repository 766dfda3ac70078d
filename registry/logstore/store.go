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
// CPU in the harness's bursts (docs/performance.md, sessions 6 to 8). A
// previous build's registry.db is read once, at the first Open, and
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
	mu  sync.Mutex
	o   options
	dir string
	log *os.File // nil once closed; holds the dir's lock

	logEnd     int64 // where the next frame goes; past it is nothing of ours
	logEntries int   // entries in the log since the snapshot
	snapCount  int   // records in the snapshot
	// retryAt: a compaction failed; the next is tried once the log holds
	// this many entries, not on every Save.
	retryAt   int
	lastQuiet bool // the last Save was a quiet one (compact.go)

	buf []byte // Save's and compaction's encoding, kept between calls

	emptyFile string // a registry file found at zero length, for EmptyFile

	hook func(stage string) // tests: called at the steps of a compaction

	count counters // stats.go
}

var _ registry.AdvisingStore = (*Store)(nil)

// WhatToFix is what an operator does when writes fail.
func (s *Store) WhatToFix() string {
	return "free space in the data dir, or fix its permissions; nothing needs a restart"
}

// maxKeptBuf is the largest encoding buffer kept between Saves: a
// registry.saveChunk of records (~250 bytes each) and some room; a rare
// larger batch gives its buffer back to the GC.
const maxKeptBuf = 512 << 10

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
		return nil, fmt.Errorf("logstore: data dir: %w", err)
	}
	s := &Store{o: o, dir: dir, lastQuiet: true} // no burst before the first Save
	f, err := os.OpenFile(s.logPath(), os.O_RDWR|os.O_CREATE, o.fileMode)
	if err != nil {
		return nil, fmt.Errorf("logstore: open %s: %w", s.logPath(), err)
	}
	if err := fsx.Lock(f, o.lockTimeout); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (lock on %s not free after %v)", ErrInUse, dir, LogName, o.lockTimeout)
		}
		return nil, fmt.Errorf("logstore: lock %s: %w", s.logPath(), err)
	}
	s.log = f
	if err := s.open(); err != nil {
		_ = f.Close()
		return nil, err
	}
	return s, nil
}

// open migrates, then checks the snapshot and the log. s.log is locked.
func (s *Store) open() error {
	migrated, err := s.migrate()
	if err != nil {
		return err
	}
	if err := s.checkSnapshot(); err != nil {
		return err
	}
	if migrated {
		return s.resetLog()
	}
	return s.openLog()
}

func (s *Store) logPath() string  { return filepath.Join(s.dir, LogName) }
func (s *Store) snapPath() string { return filepath.Join(s.dir, SnapName) }

// checkSnapshot reads the whole snapshot once and counts its records. A
// missing one is an empty registry; a zero-length one too, which
// EmptyFile then names.
func (s *Store) checkSnapshot() error {
	b, release, err := s.mapSnapshot()
	if err != nil {
		return err
	}
	defer release()
	if b == nil {
		return nil
	}
	n, err := scanSnapshot(b, func(int, entry) error { return nil })
	if err != nil {
		return damagedSnapshot(s.snapPath(), err)
	}
	s.snapCount = n
	return nil
}

// mapSnapshot maps the snapshot file; nil when there is none or it is
// empty (and then noted for EmptyFile).
func (s *Store) mapSnapshot() ([]byte, func(), error) {
	f, err := os.Open(s.snapPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, func() {}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("logstore: open %s: %w", s.snapPath(), err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("logstore: %w", err)
	}
	if !fi.Mode().IsRegular() { // a directory mapped as "no such device"
		return nil, nil, fmt.Errorf("logstore: %s is not a regular file (%s): cliser will not start on it; move it away", s.snapPath(), fi.Mode().Type())
	}
	if fi.Size() == 0 {
		s.emptyFile = s.snapPath()
		return nil, func() {}, nil
	}
	b, err := mapFile(f, fi.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("logstore: map %s: %w", s.snapPath(), err)
	}
	return b, func() { unmap(b) }, nil
}

// openLog checks the log's frames and trims a torn last one. A new (or
// zero-length) log gets its header.
func (s *Store) openLog() error {
	fi, err := s.log.Stat()
	if err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	if fi.Size() < headerLen {
		// New, or its header's write was cut short by a crash: nothing
		// was ever saved in it.
		head := make([]byte, fi.Size())
		if _, err := s.log.ReadAt(head, 0); err != nil {
			return fmt.Errorf("logstore: read %s: %w", s.logPath(), err)
		}
		if !strings.HasPrefix(string(logMagic[:]), string(head)) {
			return damagedLog(s.logPath(), fmt.Errorf("%w: not a registry log file", ErrCorrupt))
		}
		return s.resetLog()
	}
	b, err := mapFile(s.log, fi.Size())
	if err != nil {
		return fmt.Errorf("logstore: map %s: %w", s.logPath(), err)
	}
	defer unmap(b)
	entries := 0
	end, err := scanLog(b, func(int, entry) error { entries++; return nil })
	if err != nil {
		return damagedLog(s.logPath(), err)
	}
	s.logEnd, s.logEntries = int64(end), entries
	if int64(end) < fi.Size() {
		return s.cut()
	}
	return nil
}

// resetLog makes the log a header and nothing else: after a compaction
// (its entries are in the snapshot) or for a new one.
func (s *Store) resetLog() error {
	if err := s.log.Truncate(0); err != nil {
		return fmt.Errorf("logstore: reset %s: %w", s.logPath(), err)
	}
	if _, err := s.log.WriteAt(logMagic[:], 0); err != nil {
		return fmt.Errorf("logstore: reset %s: %w", s.logPath(), err)
	}
	if err := syscall.Fdatasync(int(s.log.Fd())); err != nil {
		return fmt.Errorf("logstore: reset %s: %w", s.logPath(), err)
	}
	s.logEnd, s.logEntries, s.retryAt = headerLen, 0, 0
	return nil
}

// cut drops whatever lies past the log's end: a torn or failed write.
func (s *Store) cut() error {
	if err := s.log.Truncate(s.logEnd); err != nil {
		return err
	}
	return syscall.Fdatasync(int(s.log.Fd()))
}

// EmptyFile names a registry file Open found at zero length and took for
// an empty registry, or is "". The caller should tell the operator: such
// a file is more often a registry lost to a full disk or a bad copy than
// a new one. Safe to call from any goroutine.
func (s *Store) EmptyFile() string { return s.emptyFile }

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

// Save deletes the cids in gone, then inserts or replaces every record of
// put (keyed by CID), appended to the log as frames and fdatasynced once:
// after Save returns nil the batch survives a kill -9 or a power cut, and
// after an error none of it was applied (a partial write is cut off). A
// crash inside a Save that never returned leaves a prefix of its frames,
// each a whole one. A record with an empty CID can not be stored and is
// skipped. Deletes go first so that a cid which was pruned and then
// registered again within one batch ends up stored. When the log has grown
// past the snapshot, the Save then writes a new snapshot (compact.go); if
// that fails, the batch is saved all the same and the error says so. Safe
// to call from any goroutine; concurrent Saves are applied one after the
// other.
func (s *Store) Save(put []registry.Record, gone []string) error {
	if len(put) == 0 && len(gone) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return fmt.Errorf("%w: save %s", ErrClosed, s.dir)
	}
	n, err := s.appendBatch(put, gone)
	if err != nil || n == 0 {
		return err
	}
	s.logEntries += n
	s.count.saves.Add(1)
	s.count.entries.Add(uint64(n))
	if !s.compactionDue(len(put) + len(gone)) {
		return nil
	}
	if err := s.compactOrRetryLater(); err != nil {
		return fmt.Errorf("logstore: the batch is saved, but %w", err)
	}
	return nil
}

// pieceRecords is the most records encoded into the kept buffer at a
// time (~256 KiB, within maxKeptBuf). A Save of more writes them piece by
// piece and syncs once: an fdatasync costs ~200-300 us of CPU on the
// bench's disk whatever its size, and the registry used to make a Save,
// so a sync, of each 1,024 (docs/performance.md, session 18).
const pieceRecords = 1024

// appendBatch encodes the batch and writes it at the log's end piece by
// piece, then syncs it once; it returns the entries written. On an error
// the log is as it was: what was written is cut off (or, if even that
// fails, overwritten by the next Save, which starts at the same end).
func (s *Store) appendBatch(put []registry.Record, gone []string) (int, error) {
	at, n := s.logEnd, 0
	for first := true; first || len(put) > 0; first = false {
		k := min(len(put), pieceRecords)
		frames, m, err := s.encode(s.buf[:0], put[:k], gone)
		s.keep(frames)
		if err == nil && m > 0 {
			_, err = s.log.WriteAt(frames, at)
		}
		if err != nil {
			_ = s.cut()
			return 0, fmt.Errorf("logstore: save %s: %w", s.logPath(), err)
		}
		at, n = at+int64(len(frames)), n+m
		put, gone = put[k:], nil
	}
	if n == 0 {
		return 0, nil
	}
	s.count.syncs.Add(1)
	if err := syscall.Fdatasync(int(s.log.Fd())); err != nil {
		_ = s.cut()
		return 0, fmt.Errorf("logstore: save %s: %w", s.logPath(), err)
	}
	s.count.bytes.Add(uint64(at - s.logEnd))
	s.logEnd = at
	return n, nil
}

// encode appends the batch as one frame (or a few, past frameTarget) to
// dst and counts its entries.
func (s *Store) encode(dst []byte, put []registry.Record, gone []string) ([]byte, int, error) {
	if need := 256 * len(put); cap(dst) < need {
		dst = make([]byte, 0, need)
	}
	dst, at := beginFrame(dst)
	n := 0
	next := func() {
		if len(dst)-at > frameTarget {
			dst = sealFrame(dst, at)
			dst, at = beginFrame(dst)
		}
	}
	for _, cid := range gone {
		if cid == "" {
			continue // never stored
		}
		dst, n = appendDelete(dst, cid), n+1
		next()
	}
	for _, rec := range put {
		if rec.CID == "" {
			// A batch that failed on one bad record would fail again on
			// every retry, stopping all persistence. Callers validate
			// cids (protocol field rule), so this only keeps a bug from
			// spreading.
			continue
		}
		var vat int
		var err error
		dst, vat = appendPutHead(dst, []byte(rec.CID))
		if dst, err = appendRecord(dst, rec); err != nil {
			return dst, 0, err
		}
		dst, n = endPut(dst, vat), n+1
		next()
	}
	if len(dst) == at+frameHead { // an empty last frame
		dst = dst[:at]
	} else {
		dst = sealFrame(dst, at)
	}
	return dst, n, nil
}

// keep keeps buf for the next Save unless it grew large.
func (s *Store) keep(buf []byte) {
	if cap(buf) <= maxKeptBuf {
		s.buf = buf[:0]
	}
}

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
	if err != nil {
		return fmt.Errorf("logstore: close %s: %w", s.logPath(), err)
	}
	return nil
}
