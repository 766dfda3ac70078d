package logstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/cliser/cliser/internal/boltcheck"
	"github.com/cliser/cliser/internal/fsx"
)

// Builds before this one kept the registry in one bbolt file,
// <data-dir>/registry.db: a bucket "clients", each cid's record (codec.go)
// under its cid. The first Open that finds it copies its records, as they
// are, into a snapshot and renames it registry.db.migrated; from then on
// the snapshot and the log are the registry. Its damage checks
// (damage.go, through internal/boltcheck) stay for this one read.

// LegacyName is the previous builds' registry file.
const LegacyName = "registry.db"

// MigratedSuffix is added to LegacyName once its records are in the
// snapshot. The file is kept for an operator who goes back to an older
// build; nothing reads it.
const MigratedSuffix = ".migrated"

var clientsBucket = []byte("clients")

// migrate makes a snapshot of registry.db's records, when the data dir has
// one, and retires it. A registry.db is always newer than the snapshot
// beside it (an older build wrote it, or a crash stopped the migration
// before its rename), so its records replace the snapshot's and the log's.
// It reports whether it migrated. s.log is locked.
func (s *Store) migrate() (bool, error) {
	path := filepath.Join(s.dir, LegacyName)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("logstore: %w", err)
	}
	if fi.Size() == 0 {
		s.emptyFile = path // bbolt would have made it an empty registry
		_, err = s.writeSnapshot(func(func(entry) error) error { return nil })
	} else {
		err = s.copyLegacy(path)
	}
	if err != nil {
		return false, err
	}
	if err := os.Rename(path, path+MigratedSuffix); err != nil {
		return false, fmt.Errorf("logstore: retire %s: %w", path, err)
	}
	if err := fsx.SyncDir(s.dir); err != nil {
		return false, fmt.Errorf("logstore: %w", err)
	}
	return true, nil
}

// copyLegacy writes registry.db's records into a new snapshot, checking
// every page of the file first (openChecked). The records are copied as
// stored; Load decodes them.
func (s *Store) copyLegacy(path string) error {
	db, err := openChecked(path, s.o.fileMode, &bolt.Options{ReadOnly: true, Timeout: s.o.lockTimeout})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("%w: %s (lock on %s not free after %v)", ErrInUse, s.dir, LegacyName, s.o.lockTimeout)
	case errors.Is(err, ErrDamaged):
		return err
	case err != nil:
		return fmt.Errorf("logstore: open %s: %w", path, err)
	}
	defer func() { _ = boltcheck.Guard(db.Close) }()
	err = boltcheck.Guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			_, err := s.writeSnapshot(func(add func(entry) error) error {
				b := tx.Bucket(clientsBucket)
				if b == nil {
					return nil // an interrupted first start: no records
				}
				return b.ForEach(func(k, v []byte) error {
					if v == nil {
						return nil // a nested bucket: none was ever written
					}
					return add(putEntry(k, v))
				})
			})
			return err
		})
	})
	if errors.Is(err, boltcheck.ErrPanicked) {
		return damagedLegacy(path, err)
	}
	if err != nil {
		return fmt.Errorf("logstore: migrate %s: %w", path, err)
	}
	return nil
}

// putEntry is a put of cid with an encoded value, as a snapshot takes it.
func putEntry(cid, value []byte) entry {
	return entry{kind: kindPut, cid: cid, value: value}
}
