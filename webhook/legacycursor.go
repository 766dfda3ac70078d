package webhook

import (
	"errors"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/internal/boltcheck"
)

// legacyBucket is webhook.db's bucket: each URL's State, JSON, under
// oldCursorKey(url).
var legacyBucket = []byte("webhook")

// readLegacyCursor reads url's state from dir's webhook.db, which builds
// before FileCursor kept; found is false without the file or the key.
// Every error names the file: it stops the start. A damaged file is
// refused (boltcheck), not read: bbolt panicked on some damaged pages and
// faulted the process (SIGBUS) on a truncated file (FuzzLegacyCursor).
func readLegacyCursor(dir, url string) (st State, found bool, err error) {
	path := filepath.Join(dir, LegacyCursorFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return State{}, false, nil
	}
	refuse := func(cause error) error {
		return boltcheck.Refusal(boltcheck.ErrDamaged, path, cause,
			"with this webhook sending only new events (those since it stopped are not sent)")
	}
	// Checked whole: a few URLs' states, read once.
	db, err := boltcheck.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: cursorLockWait}, true, refuse)
	if errors.Is(err, boltcheck.ErrDamaged) {
		return State{}, false, err
	}
	if err != nil {
		return State{}, false, boltcheck.Named(path, err)
	}
	defer func() { _ = boltcheck.Guard(db.Close) }()
	var raw []byte
	err = boltcheck.Guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket(legacyBucket); b != nil {
				raw = append([]byte(nil), b.Get([]byte(oldCursorKey(url)))...)
			}
			return nil
		})
	})
	if err == nil && len(raw) > 0 {
		st, err = decodeState(raw)
	}
	if err != nil {
		return State{}, false, refuse(err)
	}
	return st, len(raw) > 0, nil
}
