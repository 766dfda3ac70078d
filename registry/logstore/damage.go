package logstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// maxCheckErrors is how many of tx.Check's findings a refusal quotes; a
// badly damaged file has thousands and the first few say enough.
const maxCheckErrors = 3

// damaged is the refusal for a registry file that cannot be trusted. It
// names the file and says what an operator does about it, and what that
// costs, because the process will not start until someone does.
func damaged(path string, cause error, cost string) error {
	// tx.Check reports a recovered panic as "panic: ..."; an operator
	// reading that would take it for a crash of cliser.
	why := strings.ReplaceAll(cause.Error(), "panic: ", "")
	return fmt.Errorf("%w: %s (%s); cliser will not start on it: move it away "+
		"(mv %s %s.damaged) to start %s, or put back a backup of it",
		ErrDamaged, path, why, path, path, cost)
}

// damagedLegacy refuses a previous build's registry.db.
func damagedLegacy(path string, cause error) error {
	return damaged(path, cause, "with an empty registry")
}

// damagedSnapshot refuses registry.snap.
func damagedSnapshot(path string, cause error) error {
	return damaged(path, cause, "with only the changes its log holds (the clients of the last minutes)")
}

// damagedLog refuses registry.log.
func damagedLog(path string, cause error) error {
	return damaged(path, cause, "from the last snapshot (the changes since it are lost)")
}

// errPanicked marks an error that was a panic inside bbolt.
var errPanicked = errors.New("bbolt failed reading it")

// guard runs fn and turns a panic inside bbolt into an error. bbolt
// panics, rather than failing, on some damaged pages ("invalid freelist
// page", "page N already freed", "Page expected to be: 5"); on a corrupt
// file that is a clean refusal, not a crash with a Go stack on stderr.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanicked, r)
		}
	}()
	return fn()
}

// zeroLength reports whether path exists and holds no byte. bbolt makes
// such a file a fresh database without a word; Open says so instead.
func zeroLength(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == 0
}

// openChecked opens path and checks every page it reaches (tx.Check)
// before the store is used, so that damage is found at start, where it
// can be refused cleanly, rather than by a panic in the flusher later.
// Errors that are not about damage (the lock, permissions) pass through.
func openChecked(path string, mode os.FileMode, bo *bolt.Options) (*bolt.DB, error) {
	if err := checkMetas(path); err != nil {
		return nil, damagedLegacy(path, err)
	}
	var db *bolt.DB
	err := guard(func() error {
		var err error
		db, err = bolt.Open(path, mode, bo)
		return err
	})
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case err == nil:
	case errors.Is(err, bolt.ErrTimeout), errors.As(err, &pathErr), errors.As(err, &errno):
		return nil, err // the lock, or the OS: not the file's content
	default:
		return nil, damagedLegacy(path, err)
	}
	err = guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			var found []error
			for err := range tx.Check() {
				if len(found) < maxCheckErrors {
					found = append(found, err)
				}
			}
			return errors.Join(found...)
		})
	})
	if err != nil {
		_ = guard(db.Close)
		return nil, damagedLegacy(path, err)
	}
	return db, nil
}
