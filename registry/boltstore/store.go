// Package boltstore keeps cliser's client registry on disk in one bbolt
// file, <data-dir>/registry.db. It implements registry.Store: the registry
// loads it once at start and its flusher saves batches of changed records
// behind the hot path.
//
// Why bbolt: one file, no server, ACID transactions with an fsync per
// commit, and an exclusive file lock, which is exactly what a single-node
// registry of at most tens of thousands of small records needs. The lock
// doubles as the guard against two servers sharing a data dir.
//
// Layout: one bucket, "clients", keyed by cid; each value is one record in
// the versioned encoding described in codec.go.
package boltstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/registry"
)

// FileName is the name of the database file inside the data dir.
const FileName = "registry.db"

var clientsBucket = []byte("clients")

// Store is a registry.Store on a bbolt file. Every method is safe to call
// from any goroutine: bbolt serialises writers and lets readers run beside
// them. The registry itself calls it one call at a time.
type Store struct {
	db   *bolt.DB
	path string
	// wasEmpty: the file existed with zero length and was made a fresh,
	// empty database.
	wasEmpty bool

	enc encoding // Save's buffers, kept from one Save to the next
}

// encoding is a Save's batch encoded: one arena for every key and value,
// and where each ends. bbolt keeps references to the slices it is given
// until commit, so they must not be reused within the batch; after it they
// are free, and the next Save reuses them rather than make a flush's worth
// of garbage (a burst's flush was a quarter of a megabyte a chunk, which at
// GOGC=50 on a small heap meant an extra collection every few flushes).
type encoding struct {
	mu     sync.Mutex // one Save encodes at a time
	arena  []byte
	bounds []int // per record: end of key, end of value
}

// maxKeptArena is the largest arena kept between Saves: a saveChunk of the
// registry's records (~250 bytes each) and some room; a rare larger batch
// (a test's, a restart's) gives its arena back to the GC.
const maxKeptArena = 512 << 10

var _ registry.Store = (*Store)(nil)

// Open creates dir when needed (mode 0700: records hold client addresses),
// opens or creates <dir>/registry.db and takes its exclusive lock. When
// another process (or another open Store) holds the lock for longer than
// the lock timeout, it fails with an error wrapping ErrInUse that names the
// dir. A file bbolt cannot trust fails with an error wrapping ErrDamaged
// that names it and says what to do (never a panic); a zero-length file
// becomes an empty store, and WasEmpty says so. Safe to call from any
// goroutine.
func Open(dir string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	wasEmpty := zeroLength(path)
	db, err := openChecked(path, o.fileMode, &bolt.Options{Timeout: o.lockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (lock on %s not free after %v)", ErrInUse, dir, FileName, o.lockTimeout)
	}
	if errors.Is(err, ErrDamaged) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = guard(func() error {
		return db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(clientsBucket)
			return err
		})
	})
	if err != nil {
		_ = guard(db.Close)
		return nil, fmt.Errorf("boltstore: init %s: %w", path, err)
	}
	return &Store{db: db, path: path, wasEmpty: wasEmpty}, nil
}

// WasEmpty reports whether Open found a zero-length file and made it an
// empty store, which the caller should tell the operator about: such a
// file is more often a registry lost to a full disk or a bad copy than a
// new one. Safe to call from any goroutine.
func (s *Store) WasEmpty() bool { return s.wasEmpty }

// Path is the database file's path. Safe to call from any goroutine.
func (s *Store) Path() string { return s.path }

// Load returns every stored record, in cid order, in one read transaction.
// It fails on the first record that does not decode (the error wraps
// ErrCorrupt or ErrVersion and names the cid), rather than start a server
// that silently lost clients. Safe to call from any goroutine, also while a
// Save runs; it then sees the state before or after that Save, never half.
func (s *Store) Load() ([]registry.Record, error) {
	var out []registry.Record
	err := guard(func() error { return s.load(&out) })
	if errors.Is(err, errPanicked) {
		return nil, damaged(s.path, err)
	}
	if err != nil {
		return nil, s.wrap("load", err)
	}
	return out, nil
}

func (s *Store) load(out *[]registry.Record) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(clientsBucket)
		if b == nil {
			return fmt.Errorf("%w: bucket %q missing", ErrCorrupt, clientsBucket)
		}
		return b.ForEach(func(k, v []byte) error {
			rec, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			*out = append(*out, rec)
			return nil
		})
	})
}

// Save deletes the cids in gone, then inserts or replaces every record of
// put (keyed by CID), in ONE bbolt transaction that is fsynced on commit:
// after Save returns nil the batch survives a kill -9 or a power cut, and
// after an error none of it was applied. A record with an empty CID can not be
// stored and is skipped. Deletes go first so that a cid
// which was pruned and then registered again within one batch ends up
// stored. Records are encoded before the write transaction starts, to keep
// the file's single writer slot short. Safe to call from any goroutine;
// concurrent Saves are applied one after the other.
func (s *Store) Save(put []registry.Record, gone []string) error {
	if len(put) == 0 && len(gone) == 0 {
		return nil
	}
	s.enc.mu.Lock()
	defer s.enc.mu.Unlock()
	arena, bounds := s.enc.arena[:0], s.enc.bounds[:0]
	if need := 256 * len(put); cap(arena) < need {
		arena = make([]byte, 0, need)
	}
	defer func() { // what the commit no longer needs, for the next Save
		if cap(arena) <= maxKeptArena {
			s.enc.arena, s.enc.bounds = arena[:0], bounds[:0]
		}
	}()
	for _, rec := range put {
		var err error
		arena = append(arena, rec.CID...)
		bounds = append(bounds, len(arena))
		if arena, err = appendRecord(arena, rec); err != nil {
			return err
		}
		bounds = append(bounds, len(arena))
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(clientsBucket)
		if b == nil {
			return fmt.Errorf("%w: bucket %q missing", ErrCorrupt, clientsBucket)
		}
		for _, cid := range gone {
			if cid == "" {
				continue // never stored: bbolt has no empty keys
			}
			if err := b.Delete([]byte(cid)); err != nil {
				return fmt.Errorf("delete %q: %w", cid, err)
			}
		}
		start := 0
		for i := range put {
			keyEnd, end := bounds[2*i], bounds[2*i+1]
			key, value := arena[start:keyEnd:keyEnd], arena[keyEnd:end:end]
			start = end
			if len(key) == 0 {
				// bbolt has no empty keys, and a batch that fails on one
				// bad record would fail again on every retry, stopping
				// all persistence. Callers validate cids (protocol field
				// rule), so this only keeps a bug from spreading.
				continue
			}
			if err := b.Put(key, value); err != nil {
				return fmt.Errorf("put %q: %w", key, err)
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap("save", err)
	}
	return nil
}

// Close releases the file and its lock, after any transaction in flight
// ends. Calling it again does nothing. After Close, Load and Save fail with
// ErrClosed. Safe to call from any goroutine.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	return nil
}

// wrap gives bbolt's errors the store's sentinels where one fits.
func (s *Store) wrap(op string, err error) error {
	switch {
	case errors.Is(err, bolt.ErrDatabaseNotOpen):
		return fmt.Errorf("%w: %s %s", ErrClosed, op, s.path)
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrVersion):
		return fmt.Errorf("%s %s: %w", op, s.path, err)
	}
	return fmt.Errorf("boltstore: %s %s: %w", op, s.path, err)
}
