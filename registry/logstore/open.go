package logstore

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/fsx"
)

// Open's checks of the files (each read whole once, so that damage is
// refused before anything is served) and the log's resets.

// open migrates, then checks the snapshot and the log. s.log is locked.
func (s *Store) open() error {
	migrated, err := s.migrate()
	if err != nil {
		return err
	}
	if err := s.checkSnapshot(); err != nil {
		return err
	}
	if err := s.openSnapshot(); err != nil {
		return err
	}
	if migrated {
		err = s.resetLog()
	} else {
		err = s.openLog()
	}
	if err == nil && s.followsSnap {
		err = s.snapshotThere()
	}
	s.emptyStart = s.startingOnEmpty()
	return err
}

// snapshotThere refuses a log that follows a snapshot when the snapshot
// is missing (removed, or left out of a copy of the data dir): starting
// would lose every client it held, without a word. A zero-length one is
// the operator's choice to start without it (a warning says so).
func (s *Store) snapshotThere() error {
	if _, err := os.Lstat(s.snapPath()); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("%w: %s: %s holds only the changes since a snapshot, and the snapshot is gone (removed, or left out of a copy of the data dir); "+
		"cliser will not start on the log alone, which would lose every client the snapshot held: put back %s from a backup, "+
		"or create it empty (touch %s) to start with only the changes its log holds (the clients of the last minutes)",
		ErrMissing, s.snapPath(), LogName, SnapName, s.snapPath())
}

// startingOnEmpty says what starting on the empty file (emptyFile) means.
func (s *Store) startingOnEmpty() string {
	switch {
	case s.emptyFile == s.logPath() && s.snapCount > 0:
		return fmt.Sprintf("starting from the %d records of %s; the changes since it, if the log held any, are lost", s.snapCount, SnapName)
	case s.emptyFile == s.snapPath() && s.logEntries > 0:
		return "starting with only the changes its log holds (the clients of the last minutes)"
	}
	return "starting with an empty registry"
}

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
		return nil, nil, fmt.Errorf("logstore: %s is not a regular file but %s: cliser will not start on it; move it away", s.snapPath(), fsx.Kind(fi.Mode()))
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
			return s.damagedLog(fmt.Errorf("%w: not a registry log file", ErrCorrupt))
		}
		if s.logExisted && s.emptyFile == "" {
			// Also what a log lost to a full disk or a bad copy looks
			// like: said, not taken quietly.
			s.emptyFile = s.logPath()
		}
		// Every snapshot is followed by its log (a compaction makes the
		// new log before it returns), so a snapshot of records without
		// one lost the log: removed, or left out of a copy.
		s.missingLog = !s.logExisted && s.snapCount > 0
		return s.resetLog()
	}
	b, err := mapFile(s.log, fi.Size())
	if err != nil {
		return fmt.Errorf("logstore: map %s: %w", s.logPath(), err)
	}
	defer unmap(b)
	entries := 0
	end, err := scanLog(b, func(at int, e entry) error {
		if at == headerLen+frameHead && isSnapMark(e) {
			s.followsSnap = true
			return nil
		}
		entries++
		return nil
	})
	if err != nil {
		return s.damagedLog(err)
	}
	s.logEnd, s.logEntries = int64(end), entries
	if int64(end) < fi.Size() {
		// Said, not done quietly: the bytes go for good, and a file cut
		// by other than a crash (a copy that stopped, a full disk under
		// a restore) loses clients the operator should hear of.
		s.o.log.Warn("registry: "+LogName+" ended in a write cut short (a crash during a flush, which never returned): "+
			"its tail is dropped; clients of that flush come back as they reconnect. If the file was copied or restored, "+
			"stop cliser and check it against its source",
			zap.String("file", s.logPath()), zap.Int64("dropped_bytes", fi.Size()-int64(end)), zap.Int("entries_kept", entries))
		return s.cut()
	}
	return nil
}

// resetLog makes the log a header and nothing else, after a compaction
// (its entries are in the snapshot) or for a new one; and the snapshot
// mark when the snapshot holds a record (format.go).
func (s *Store) resetLog() error {
	head := logMagic[:]
	if s.snapCount > 0 {
		var at int
		head, at = beginFrame(append([]byte(nil), head...))
		head = sealFrame(appendDelete(head, snapMark), at)
	}
	if err := s.log.Truncate(0); err != nil {
		return fmt.Errorf("logstore: reset %s: %w", s.logPath(), err)
	}
	if _, err := s.log.WriteAt(head, 0); err != nil {
		return fmt.Errorf("logstore: reset %s: %w", s.logPath(), err)
	}
	if err := syscall.Fdatasync(int(s.log.Fd())); err != nil {
		return fmt.Errorf("logstore: reset %s: %w", s.logPath(), err)
	}
	s.logEnd, s.logEntries, s.retryAt = int64(len(head)), 0, 0
	s.followsSnap = s.snapCount > 0
	return nil
}

// cut drops whatever lies past the log's end: a torn or failed write.
func (s *Store) cut() error {
	if err := s.log.Truncate(s.logEnd); err != nil {
		return err
	}
	return syscall.Fdatasync(int(s.log.Fd()))
}
