package webhook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// legacyBucket is webhook.db's bucket: each URL's State, JSON, under
// cursorKey(url).
var legacyBucket = []byte("webhook")

// readLegacyCursor reads url's state from dir's webhook.db, which builds
// before FileCursor kept; found is false without the file or the key.
func readLegacyCursor(dir, url string) (st State, found bool, err error) {
	path := filepath.Join(dir, LegacyCursorFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return State{}, false, nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: cursorLockWait})
	if err != nil {
		return State{}, false, fmt.Errorf("reading %s: %w", path, err)
	}
	defer db.Close()
	var raw []byte
	err = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(legacyBucket); b != nil {
			raw = append([]byte(nil), b.Get([]byte(cursorKey(url)))...)
		}
		return nil
	})
	if err != nil || len(raw) == 0 {
		return State{}, false, err
	}
	st, err = decodeState(raw)
	return st, err == nil, err
}
