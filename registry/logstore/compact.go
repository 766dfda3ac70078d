package logstore

import (
	"fmt"
	"os"
	"time"

	"github.com/cliser/cliser/internal/fsx"
	"github.com/cliser/cliser/registry"
)

// A compaction writes a new snapshot: each cid's last state, from the old
// snapshot and the log, in one sequential pass over each, never a record
// rewritten in place. It runs inside the Idle call (or, failing that, the
// quiet Save) that finds it due, under the store's lock, so nothing is
// appended meanwhile:
//
//  1. the log is mapped and each of its cids' last entry is noted in a
//     hash table off the Go heap (mmap.go);
//  2. the old snapshot is read in order, and each of its records is copied
//     to registry.snap.tmp as it is, or as the log left it (or dropped);
//     then the log's cids the snapshot did not hold;
//  3. the new file ends with its count, is fsynced, renamed over the old
//     snapshot, and the dir is fsynced;
//  4. the log is emptied.
//
// A crash before 3's rename leaves the old snapshot and the whole log; a
// crash between 3 and 4 leaves the new snapshot and the whole log, whose
// replay over it changes nothing (every entry is a whole record or a
// deletion, and the snapshot holds each cid's last one). Either way Load
// gives the last state saved. A stale registry.snap.tmp is overwritten by
// the next compaction.

const (
	// compactMin is the fewest log entries a compaction waits for: each
	// costs a pass over the snapshot, so it waits for at least logFactor
	// changes a record the snapshot holds (bound), and at least this.
	compactMin = 16384
	// logFactor: a compaction folds a snapshot record in ~0.4 us and a
	// log entry in ~0.7 (BenchmarkCompact20k and ...Log40k), so a log
	// twice the snapshot folds a change in ~0.9 us against ~1.1 at once
	// the snapshot; a restart decodes each record once whatever the log's
	// length (Load), and the log's disk is twice the snapshot's.
	logFactor = 2
	// quietBatch is the most changes a Save may carry and still be quiet
	// enough to compact in: a burst's CPU is the handshakes', and a time
	// of small Saves is a better one (~1 000 changes a second at the
	// 250 ms flush, above a checkpoint's share of 60 000 clients). It
	// takes two quiet Saves in a row: the first flush of a burst, or its
	// last, may be small too.
	quietBatch = 256
	// burstFactor: past this many bounds, a Save compacts even in a burst,
	// which bounds the log's size.
	burstFactor = 4
)

const tmpSuffix = ".tmp"

// compactRetry: after a failed compaction the next is tried once the log
// holds another bound of changes, or once this long has passed, whichever
// comes first: a disk given room again gets its snapshot (and the
// operator the fault's end) without waiting for the fleet to change.
const compactRetry = 10 * time.Second

// bound is the log's length from which a compaction is due.
func (s *Store) bound() int { return max(s.o.compactMin, logFactor*s.snapCount) }

// pastBound: the log has reached its bound, and after a failed
// compaction its retry is due (compactRetry).
func (s *Store) pastBound() bool {
	if s.logEntries < s.bound() {
		return false
	}
	return s.logEntries >= s.retryAt || (s.compactErr != nil && time.Since(s.compactTried) >= s.o.compactRetry)
}

// compactionDue reports whether the Save that just appended changes
// changes should write a new snapshot.
func (s *Store) compactionDue(changes int) bool {
	quiet := changes <= quietBatch
	wasQuiet := s.lastQuiet
	s.lastQuiet = quiet
	if !s.pastBound() {
		return false
	}
	return (quiet && wasQuiet) || s.logEntries >= burstFactor*s.bound()
}

var _ registry.IdleStore = (*Store)(nil)

// Idle writes a new snapshot when one is due: the registry's flusher calls
// it once it has had nothing to write for a while, the quietest time
// there is. Without it a compaction waited for two quiet Saves in a row,
// which a server that goes from burst to idle and back never makes: the
// log grew to burstFactor bounds and the compaction then ran inside a
// burst (the harness's bursts: docs/performance-journal.md, session 18).
// Safe to call from any goroutine.
func (s *Store) Idle() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return nil // closed: nothing left to fold
	}
	if err := s.keepPlaced(); err != nil {
		return err
	}
	s.lastQuiet = true
	if s.pastBound() {
		s.compactOrRetryLater()
	}
	return nil
}

// compactOrRetryLater compacts; on failure the next try waits for another
// bound of entries or compactRetry, not the next Save, and UpkeepErr says
// so until one succeeds. Nothing saved is at risk meanwhile: the log
// holds it. s.mu is held.
func (s *Store) compactOrRetryLater() {
	if err := s.compact(); err != nil {
		s.retryAt = s.logEntries + s.bound()
		s.compactTried = time.Now()
		if s.compactErr == nil {
			s.compactFailed = s.compactTried // since: the first of the failures now running
		}
		s.compactErr = err
		s.count.compactFailures.Add(1)
		return
	}
	s.compactErr = nil
}

var _ registry.UpkeepStore = (*Store)(nil)

// UpkeepErr is nil, or why compactions fail since when: the log keeps
// every change and grows until one succeeds, retried within compactRetry.
// Safe to call from any goroutine.
func (s *Store) UpkeepErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.compactErr == nil {
		return nil
	}
	return fmt.Errorf("writing a new %s fails since %s (every change is in %s, which grows until one succeeds; retried every %s): %w",
		SnapName, s.compactFailed.UTC().Format(time.RFC3339), LogName, s.o.compactRetry, s.compactErr)
}

// compact writes a new snapshot from the old one and the log, then
// empties the log. s.mu is held.
func (s *Store) compact() error {
	logBytes, err := mapFile(s.log, s.logEnd)
	if err != nil {
		return fmt.Errorf("map %s: %w", s.logPath(), err)
	}
	defer unmap(logBytes)
	t, err := newLastEntries(logBytes, s.logEntries)
	if err != nil {
		return err
	}
	defer t.release()
	old, release, err := s.mapSnapshot()
	if err != nil {
		return err
	}
	defer release()
	s.emptyFile, s.emptyStart = "", ""

	count, err := s.writeSnapshot(func(add func(entry) error) error { return s.merge(add, add, t, old) })
	if err != nil {
		return err
	}
	s.snapCount = count
	s.count.compactions.Add(1)
	s.count.compacted.Add(uint64(count))
	return s.resetLog()
}

// merge calls keep with each snapshot record the log did not change, and
// last with each cid's last log entry (a put or a deletion): each cid's
// last state, once. A compaction writes them, a Load decodes them. Damage
// in the snapshot's frames is reported as such; keep's and last's own
// errors are returned as they are.
func (s *Store) merge(keep, last func(entry) error, t *lastEntries, old []byte) error {
	if old != nil {
		var fnErr error
		_, err := scanSnapshot(old, func(_ int, e entry) error {
			if l, ok := t.take(e.cid); ok {
				fnErr = last(l)
			} else {
				fnErr = keep(e)
			}
			return fnErr
		})
		if fnErr != nil {
			return fnErr
		}
		if err != nil {
			return damagedSnapshot(s.snapPath(), err)
		}
	}
	return t.rest(last)
}

// step tells a test where a compaction is.
func (s *Store) step(stage string) {
	if s.hook != nil {
		s.hook(stage)
	}
}

// snapWriter writes a snapshot file, frame by frame.
type snapWriter struct {
	f     *os.File
	buf   []byte
	at    int // the open frame's head in buf
	count int
}

func newSnapWriter(path string, mode os.FileMode, buf []byte) (*snapWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return nil, err
	}
	w := &snapWriter{f: f, buf: append(buf, snapMagic[:]...)}
	w.buf, w.at = beginFrame(w.buf)
	return w, nil
}

// add writes a put; a deletion writes nothing.
func (w *snapWriter) add(e entry) error {
	if e.kind != kindPut {
		return nil
	}
	w.buf = appendPut(w.buf, e.cid, e.value)
	w.count++
	if len(w.buf)-w.at < frameTarget {
		return nil
	}
	w.buf = sealFrame(w.buf, w.at)
	if _, err := w.f.Write(w.buf); err != nil {
		return err
	}
	w.buf, w.at = beginFrame(w.buf[:0])
	return nil
}

// finish writes the last frames and the end entry, syncs and closes.
func (w *snapWriter) finish() error {
	if len(w.buf) == w.at+frameHead {
		w.buf = w.buf[:w.at]
	} else {
		w.buf = sealFrame(w.buf, w.at)
	}
	var at int
	w.buf, at = beginFrame(w.buf)
	w.buf = sealFrame(appendEnd(w.buf, uint64(w.count)), at)
	if _, err := w.f.Write(w.buf); err != nil {
		w.abort()
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.abort()
		return err
	}
	if err := w.f.Close(); err != nil {
		_ = os.Remove(w.f.Name())
		return err
	}
	return nil
}

// abort drops the file being written.
func (w *snapWriter) abort() {
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}

// writeSnapshot writes a new snapshot of the records each yields: into
// registry.snap.tmp, fsynced, then renamed over registry.snap, and the dir
// fsynced. It returns how many it wrote. s.mu is held, or s is not shared
// yet.
func (s *Store) writeSnapshot(each func(add func(entry) error) error) (int, error) {
	tmp := s.snapPath() + tmpSuffix
	w, err := newSnapWriter(tmp, s.o.fileMode, s.buf[:0])
	if err != nil {
		return 0, err
	}
	defer func() { s.keep(w.buf) }()
	if err := each(w.add); err != nil {
		w.abort()
		return 0, err
	}
	if err := w.finish(); err != nil {
		return 0, err
	}
	s.step("written")
	if err := os.Rename(tmp, s.snapPath()); err != nil {
		return 0, err
	}
	if err := fsx.SyncDir(s.dir); err != nil {
		return 0, err
	}
	s.step("renamed")
	return w.count, s.openSnapshot()
}
