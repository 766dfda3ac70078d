package events

import (
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/internal/boltmap"
)

// releaseMapped lets go of the log file's pages that the writer's commits
// and the readers read through bbolt's map (see boltmap.Release): the
// writer only ever needs the newest leaf again.
func releaseMapped(db *bolt.DB) {
	_ = db.View(func(tx *bolt.Tx) error {
		boltmap.Release(tx)
		return nil
	})
}
