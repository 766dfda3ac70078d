package logstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"

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
// one, and retires it. Without a registry.db.migrated, a registry.db is
// newer than the snapshot beside it (a crash stopped the migration before
// its rename, or the operator put the retired file back for an older
// build and ran it), so its records replace the snapshot's and the log's,
// if it holds every client ID they hold (else notBeside). With one, an
// older build made it anew after the migration: the snapshot and the log
// hold what it never saw, and the choice is the operator's (twoBuilds).
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
	if _, err := os.Lstat(path + MigratedSuffix); err == nil {
		return false, s.twoBuilds(path)
	}
	held, err := s.heldCIDs()
	if err != nil {
		return false, err
	}
	if fi.Size() == 0 {
		if len(held) > 0 {
			return false, s.notBeside(path, missingFrom(held, nil))
		}
		s.emptyFile = path // bbolt would have made it an empty registry
		_, err = s.writeSnapshot(func(func(entry) error) error { return nil })
	} else {
		err = s.copyLegacy(path, held)
	}
	if err != nil {
		return false, err
	}
	if err := os.Rename(path, path+MigratedSuffix); err != nil {
		return false, fmt.Errorf("logstore: retire %s: %w", LegacyName, err) // err names both paths
	}
	if err := fsx.SyncDir(s.dir); err != nil {
		return false, fmt.Errorf("logstore: %w", err)
	}
	// Said: an operator going back a build must rename it back (upgrade audit).
	s.o.log.Info("registry: an earlier build's "+LegacyName+" copied into "+SnapName+" and kept as "+LegacyName+MigratedSuffix+
		" (docs/operations.md, going back to an older build)", zap.String("file", path+MigratedSuffix))
	return true, nil
}

// twoBuilds refuses a registry.db made by an older build beside the
// migrated one: migrating it would replace every record the snapshot and
// the log hold, and the rename would overwrite the retired file, both
// without a word (upgrade audit).
func (s *Store) twoBuilds(path string) error {
	return fmt.Errorf("%w: %s beside %s%s: an older build made a new %s after this data dir's registry moved to %s and %s (a downgrade), "+
		"and they hold different clients; cliser will not choose: to keep this build's records (those up to the downgrade), "+
		"move %s away (mv %s %s.downgrade); to keep the older build's instead, move %s, %s and %s%s away",
		ErrTwoBuilds, path, LegacyName, MigratedSuffix, LegacyName, SnapName, LogName,
		LegacyName, path, path, SnapName, LogName, LegacyName, MigratedSuffix)
}

// notBeside refuses a registry.db that lacks client IDs the snapshot and
// the log hold: an older build made it in a data dir of this build (even
// one whose start was refused leaves it), or it was put back from before
// they registered. Taking it dropped those records with an info line
// (upgrade audit).
func (s *Store) notBeside(path string, missing []string) error {
	shown, ids := missing[:min(len(missing), 3)], "client IDs"
	if len(missing) == 1 {
		ids = "client ID"
	}
	return fmt.Errorf("%w: %s lacks %d %s that %s and %s hold (%s): an older build made it in this data dir, "+
		"or it was put back from before they registered; cliser will not choose: to keep this build's records, "+
		"move it away (mv %s %s.downgrade); to take its records in place of theirs, move %s and %s away",
		ErrTwoBuilds, path, len(missing), ids, SnapName, LogName, strings.Join(quoted(shown), ", "),
		path, path, s.snapPath(), s.logPath())
}

func quoted(ss []string) []string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return q
}

// heldCIDs is the client IDs the snapshot and the log hold now. Their
// damage is refused here, before a migration would write over them.
func (s *Store) heldCIDs() (map[string]struct{}, error) {
	held := map[string]struct{}{}
	b, err := readIfThere(s.snapPath())
	if err != nil {
		return nil, err
	}
	if len(b) > 0 {
		if _, err := scanSnapshot(b, func(_ int, e entry) error { held[string(e.cid)] = struct{}{}; return nil }); err != nil {
			return nil, damagedSnapshot(s.snapPath(), err)
		}
	}
	if b, err = readIfThere(s.logPath()); err != nil || len(b) < headerLen {
		return held, err // a log shorter than its header holds nothing (openLog)
	}
	_, err = scanLog(b, func(_ int, e entry) error {
		switch {
		case isSnapMark(e):
		case e.kind == kindPut:
			held[string(e.cid)] = struct{}{}
		default:
			delete(held, string(e.cid))
		}
		return nil
	})
	if err != nil {
		return nil, s.damagedLog(err)
	}
	return held, nil
}

// readIfThere is path's bytes, none when it does not exist.
func readIfThere(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	return b, nil
}

// missingFrom is the client IDs of held that bucket b (nil: none) lacks,
// sorted.
func missingFrom(held map[string]struct{}, b *bolt.Bucket) []string {
	var missing []string
	for cid := range held {
		if b == nil || b.Get([]byte(cid)) == nil {
			missing = append(missing, cid)
		}
	}
	slices.Sort(missing)
	return missing
}

// copyLegacy writes registry.db's records into a new snapshot, checking
// every page of the file first (openChecked), unless it lacks a client ID
// of held (notBeside). The records are copied as stored; Load decodes
// them.
func (s *Store) copyLegacy(path string, held map[string]struct{}) error {
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
			if missing := missingFrom(held, tx.Bucket(clientsBucket)); len(missing) > 0 {
				return s.notBeside(path, missing)
			}
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
	switch {
	case errors.Is(err, boltcheck.ErrPanicked):
		return damagedLegacy(path, err)
	case errors.Is(err, ErrTwoBuilds):
		return err // notBeside's, which names the file
	case err != nil:
		return fmt.Errorf("logstore: migrate %s: %w", path, err)
	}
	return nil
}

// putEntry is a put of cid with an encoded value, as a snapshot takes it.
func putEntry(cid, value []byte) entry {
	return entry{kind: kindPut, cid: cid, value: value}
}
