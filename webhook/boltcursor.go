package webhook

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CursorFileName is the single-node cursor's file inside the data dir. It
// is a file of its own, not a bucket of the registry's or the log's: bbolt
// locks a file for one opener, and the cursor's writes (two per batch)
// then never queue behind the registry's flushes.
const CursorFileName = "webhook.db"

var cursorBucket = []byte("webhook")

// BoltCursor is the Cursor of a single node: a key in <dir>/webhook.db.
type BoltCursor struct {
	db  *bolt.DB
	key []byte
}

var _ Cursor = (*BoltCursor)(nil)

// OpenBoltCursor opens (creating when needed) the cursor of the webhook
// at url in dir. It waits at most 2s for the file's lock, which another
// process on the same data dir would hold.
func OpenBoltCursor(dir, url string) (*BoltCursor, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("webhook cursor: data dir: %w", err)
	}
	path := filepath.Join(dir, CursorFileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("webhook cursor: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(cursorBucket)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("webhook cursor: init %s: %w", path, err)
	}
	return &BoltCursor{db: db, key: []byte(cursorKey(url))}, nil
}

// Load implements Cursor.
func (c *BoltCursor) Load(context.Context) (State, bool, error) {
	var raw []byte
	err := c.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(cursorBucket).Get(c.key); v != nil {
			raw = append([]byte(nil), v...)
		}
		return nil
	})
	if err != nil || raw == nil {
		return State{}, false, err
	}
	st, err := decodeState(raw)
	return st, err == nil, err
}

// Save implements Cursor; bbolt syncs the file before Update returns.
func (c *BoltCursor) Save(_ context.Context, st State) error {
	val, err := encodeState(st)
	if err != nil {
		return err
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(cursorBucket).Put(c.key, val)
	})
}

// Close releases the file. Not safe to call while a Load or Save runs.
func (c *BoltCursor) Close() error {
	if c == nil || c.db == nil {
		return nil
	}
	return c.db.Close()
}
