package logstore

import (
	"fmt"
	"os"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/internal/boltcheck"
)

// damaged is the refusal for a registry file that cannot be trusted, with
// what moving it away costs.
func damaged(path string, cause error, cost string) error {
	return boltcheck.Refusal(ErrDamaged, path, cause, cost)
}

// damagedLegacy refuses a previous build's registry.db.
func damagedLegacy(path string, cause error) error {
	return damaged(path, cause, "with an empty registry")
}

// damagedSnapshot refuses registry.snap. Its way on leaves an empty file
// in its place: a log that follows a snapshot is refused without one
// (snapshotThere), and moving it away alone led there (audit).
func damagedSnapshot(path string, cause error) error {
	why := strings.ReplaceAll(cause.Error(), "panic: ", "")
	return fmt.Errorf("%w: %s (%s); cliser will not start on it: move it away and leave an empty one "+
		"(mv %s %s.damaged && touch %s) to start with only the changes its log holds (the clients of the last minutes), "+
		"or put back a backup of it", ErrDamaged, path, why, path, path, path)
}

// damagedLog refuses registry.log, once the snapshot is checked: moving
// the log away starts from the snapshot, or from nothing without one;
// the node then adds the clients its event log holds (node/store.go).
func (s *Store) damagedLog(cause error) error {
	if s.snapCount == 0 {
		return damaged(s.logPath(), cause, "with an empty registry (there is no snapshot: every record is in the log) but for the clients the event log holds, when on")
	}
	return damaged(s.logPath(), cause, fmt.Sprintf("from the last snapshot, %s (%d records; the changes since it are lost but for the clients the event log holds, when on)", SnapName, s.snapCount))
}

// openChecked opens path and checks every page it reaches (tx.Check)
// before the store is used, so that damage is found at start, where it
// can be refused cleanly, rather than by a panic in the flusher later.
// Errors that are not about damage (the lock, permissions) pass through.
func openChecked(path string, mode os.FileMode, bo *bolt.Options) (*bolt.DB, error) {
	return boltcheck.Open(path, mode, bo, true, func(cause error) error { return damagedLegacy(path, cause) })
}
