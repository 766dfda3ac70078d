package logstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/fsx"
)

// The data dir removed or its files replaced under the running server (rm
// -rf, a tmp cleaner, a restore into the wrong place): every Save still
// succeeded, into files no restart reads, and the stop said "registry
// written". The store keeps its snapshot open as well as its log, so the
// open files hold every byte of the registry, checks at each Save and
// each idle second that they are still the files at their paths, and if
// not writes them there again before it goes on.

// misplaced is nil while the log and the snapshot are the files at their
// paths; else an error wrapping fsx.ErrGone or fsx.ErrReplaced (or why it
// could not tell). s.mu is held.
func (s *Store) misplaced() error {
	if err := fsx.Placed(s.log, s.logPath()); err != nil {
		return err
	}
	if s.snap != nil {
		return fsx.Placed(s.snap, s.snapPath())
	}
	return nil
}

// keepPlaced writes the files again at their paths when they are not
// there, from the open ones. s.mu is held.
func (s *Store) keepPlaced() error {
	cause := s.misplaced()
	if cause == nil {
		s.lost = false
		return nil
	}
	if !errors.Is(cause, fsx.ErrGone) && !errors.Is(cause, fsx.ErrReplaced) {
		return fmt.Errorf("logstore: checking the data dir's files: %w", cause)
	}
	if !s.lost { // once a loss, however many Saves fail to mend it
		s.lost = true
		s.count.lost.Add(1)
	}
	if err := s.restore(); err != nil {
		return fmt.Errorf("logstore: %w; writing the registry there again failed: %w", cause, err)
	}
	s.lost = false
	s.o.log.Error("registry: its files in the data dir were removed or replaced while the server ran; "+
		"written there again from the open ones, nothing lost (cliser_registry_store_lost_total)",
		zap.String("data_dir", s.dir), zap.NamedError("cause", cause), zap.Int("snapshot_records", s.snapCount),
		zap.Int("log_entries", s.logEntries))
	return nil
}

// restore makes the data dir; when the log left its path, opens a new
// one there and takes its lock (another server that started on the dir
// since keeps it: ErrInUse); writes the snapshot and then the log from
// the open files, syncs, and swaps them in. s.mu is held.
func (s *Store) restore() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	log := s.log
	if fsx.Placed(s.log, s.logPath()) != nil {
		var err error
		if log, err = s.claimLog(); err != nil {
			return err
		}
	}
	snap, err := s.restoreSnapshot()
	if err == nil && log != s.log {
		err = copyLog(log, s.log, s.logEnd)
	}
	if err == nil {
		err = fsx.SyncDir(s.dir)
	}
	if err != nil {
		if log != s.log {
			_ = log.Close()
		}
		if snap != nil {
			_ = snap.Close()
		}
		return err
	}
	if log != s.log {
		_ = s.log.Close()
	}
	if s.snap != nil {
		_ = s.snap.Close()
	}
	s.log, s.snap = log, snap
	return nil
}

// claimLog opens the file at the log's path, made if need be, and takes
// its lock at once or not at all.
func (s *Store) claimLog() (*os.File, error) {
	f, err := fsx.OpenLocked(s.logPath(), s.o.fileMode, 0)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("%w: %s (another process took %s's lock)", ErrInUse, s.dir, LogName)
	}
	return f, err
}

// restoreSnapshot writes the open snapshot at its path again (through a
// temporary file and a rename, as a compaction does) and returns it
// opened; nil when there is none.
func (s *Store) restoreSnapshot() (*os.File, error) {
	if s.snap == nil {
		return nil, nil
	}
	err := fsx.ReplaceFile(s.snapPath(), s.o.fileMode, func(w *os.File) error {
		_, err := io.Copy(w, io.NewSectionReader(s.snap, 0, 1<<62))
		return err
	})
	if err != nil {
		return nil, err
	}
	return os.Open(s.snapPath())
}

// copyLog makes dst the first n bytes of src, synced.
func copyLog(dst, src *os.File, n int64) error {
	if err := dst.Truncate(0); err != nil {
		return err
	}
	if _, err := io.Copy(io.NewOffsetWriter(dst, 0), io.NewSectionReader(src, 0, n)); err != nil {
		return err
	}
	return syscall.Fdatasync(int(dst.Fd()))
}

// openSnapshot keeps the snapshot at its path open (nil when there is
// none), closing the one kept before: after Open's check and after each
// new snapshot. s.mu is held, or s is not shared yet.
func (s *Store) openSnapshot() error {
	f, err := os.Open(s.snapPath())
	if errors.Is(err, os.ErrNotExist) {
		f, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("logstore: open %s: %w", s.snapPath(), err)
	}
	if s.snap != nil {
		_ = s.snap.Close()
	}
	s.snap = f
	return nil
}
