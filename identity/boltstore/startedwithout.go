package boltstore

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// A start that found identity.db empty or missing in a used data dir made
// a new one, and every enrolled client ID came in on the shared password.
// The mark keeps saying so across the restarts that follow, until an
// operator enrolls or bans again: the new file alone would read as a real
// one at the next start (black-box audit). Its bucket is made only when
// marked; earlier builds do not read it.

var (
	metaBucket        = []byte("meta")
	keyStartedWithout = []byte("started-without")
)

// MarkStartedWithout records that the server started at at without this
// file's credentials and bans.
func (s *Store) MarkStartedWithout(at time.Time) error {
	v, err := at.UTC().MarshalText()
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		return b.Put(keyStartedWithout, v)
	})
}

// StartedWithout is the time MarkStartedWithout recorded, if it did and
// no Unmark followed.
func (s *Store) StartedWithout() (at time.Time, ok bool) {
	_ = s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(metaBucket); b != nil {
			if v := b.Get(keyStartedWithout); v != nil {
				ok = at.UnmarshalText(v) == nil
			}
		}
		return nil
	})
	return at, ok
}

// UnmarkStartedWithout removes the mark, once credentials or bans were
// made again.
func (s *Store) UnmarkStartedWithout() error {
	return s.update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(metaBucket); b != nil {
			return b.Delete(keyStartedWithout)
		}
		return nil
	})
}
