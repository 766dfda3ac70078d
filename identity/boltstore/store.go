// Package boltstore keeps fleet identity (credentials and bans) of a single
// node in one bbolt file, <data-dir>/identity.db. It implements
// identity.Store; the identity service loads it once at start and writes
// through it behind the event loops.
//
// Why a file of its own rather than a bucket in the registry's
// registry.db: the registry's store is built around its batch flusher and
// its record codec, and a second writer would share its single write slot
// and its lock timeout; identity writes are rare operator actions, and a
// separate file keeps the two packages independent (and lets an operator
// back up or wipe credentials on their own). The data dir is already held
// by the registry's lock; this file has its own, too.
//
// Layout: bucket "credentials" keyed by client ID, bucket "bans" keyed by
// "kind/value"; each value is JSON with a version field "v" (digests in
// hex, times in RFC 3339 UTC). Secrets are never stored, only digests.
// Bucket "meta", when there, holds the started-without mark
// (startedwithout.go).
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/boltcheck"
	"github.com/cliser/cliser/internal/boltkeep"
	"github.com/cliser/cliser/internal/boltmap"
	"github.com/cliser/cliser/internal/prom"
)

// FileName is the database file's name inside the data dir.
const FileName = "identity.db"

var (
	credBucket = []byte("credentials")
	banBucket  = []byte("bans")
)

// MetricLost counts the times identity.db was found removed or replaced
// while open (docs/operations.md, "The data dir").
const MetricLost = "cliser_identity_store_lost_total"

// Store is an identity.Store on a bbolt file. Safe for concurrent use.
type Store struct {
	// mu is held shared by every transaction and exclusively to put the
	// file back and swap db for the reopened one (see keep).
	mu   sync.RWMutex
	path string
	db   *bolt.DB
	keep *boltkeep.Keeper
	lost prometheus.Counter

	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Option configures Open.
type Option func(*options)

type options struct {
	log   *zap.Logger
	every time.Duration
}

// WithLogger sets where a lost file is reported.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.log = l } }

// WithCheckEvery sets how often the file is checked to be at its path
// (boltkeep.CheckEvery by default); every write is checked after it, too.
func WithCheckEvery(d time.Duration) Option { return func(o *options) { o.every = d } }

var (
	_ identity.Store      = (*Store)(nil)
	_ identity.EachLoader = (*Store)(nil)
)

// Open creates dir when needed (mode 0700) and opens or creates
// <dir>/identity.db (mode 0600: it holds digests and client addresses).
// It checks that the file stays at its path until Close (see keep).
func Open(dir string, opts ...Option) (*Store, error) {
	o := options{log: zap.NewNop(), every: boltkeep.CheckEvery}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("identity boltstore: data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := open(path)
	if err != nil {
		return nil, err
	}
	lost := prom.Counter(MetricLost, "Times identity.db was found removed from the data dir (or replaced) while open; "+
		"it is then written back from the open database.")
	keep, err := boltkeep.New(path, "identity store", "credentials and bans", o.log, lost)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s := &Store{path: path, db: db, keep: keep, lost: lost, stop: make(chan struct{}), stopped: make(chan struct{})}
	keep.Grown()
	go s.watch(o.every)
	return s, nil
}

// open opens or creates the file at path, with its buckets; at Open and
// when its file is put back.
func open(path string) (*bolt.DB, error) {
	// Checked whole (a small file, read whole by the load anyway): a
	// damaged page made bbolt panic at start, a truncated file SIGBUS.
	db, err := boltcheck.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second}, true, func(cause error) error {
		return boltcheck.Refusal(boltcheck.ErrDamaged, path, cause,
			"with no credentials and no bans (every client ID falls back to the shared password)")
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if errors.Is(err, boltcheck.ErrDamaged) {
		return nil, fmt.Errorf("identity boltstore: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("identity boltstore: %w", boltcheck.Named(path, err))
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{credBucket, banBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("identity boltstore: init %s: %w", path, err)
	}
	return db, nil
}

// The file's keep: removed from the data dir while open (rm -rf, a tmp
// cleaner), bbolt went on committing, fsynced, into a file no restart
// reads, and the next start found no credential and no ban. The store
// looks every second and after each write; a lost file is written back
// from the open database and reopened, under mu held exclusively: the
// writes are a few operators' actions, the reads short, so holding them
// off for one copy of a small file is simpler than anything finer, and a
// write whose call returned is on the disk again.

// watch checks the file every d until Close.
func (s *Store) watch(d time.Duration) {
	defer close(s.stopped)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.keepPlaced()
			_ = s.keep.Cut()
		}
	}
}

// keepPlaced puts the file back when it left its path.
func (s *Store) keepPlaced() {
	if !s.keep.Check() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restoreLocked(false)
}

// restoreLocked puts the file back and swaps db when it is (still) lost:
// another caller may have done it meanwhile. final: Close's, the last
// chance, without the wait after a failed restore. mu held.
func (s *Store) restoreLocked(final bool) {
	switch {
	case !s.keep.Check():
	case final:
		s.db = s.keep.RestoreNow(s.db, open)
	default:
		s.db = s.keep.Restore(s.db, open)
	}
}

// update is db.Update under mu, followed by the check. A file cut under
// the server (boltkeep's Cut) is neither written nor read: the
// credentials and bans held in memory are still enforced.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	err := s.keep.Cut()
	if err == nil {
		err = s.db.Update(fn)
		s.keep.Grown()
	}
	s.mu.RUnlock()
	s.keepPlaced()
	return err
}

// view is db.View under mu.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.keep.Cut(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// Healthy is nil unless the file left the data dir and is not yet back,
// or was cut under the server: for /readyz.
func (s *Store) Healthy() error { return s.keep.Healthy() }

// Collectors are the store's metrics, for the admin API's registry.
func (s *Store) Collectors() []prometheus.Collector { return []prometheus.Collector{s.lost} }

// Load returns every credential and ban in one read transaction (LoadEach).
func (s *Store) Load(ctx context.Context) ([]identity.Credential, []identity.Ban, error) {
	var creds []identity.Credential
	bans, err := s.LoadEach(ctx, func(c identity.Credential) error {
		creds = append(creds, c)
		return nil
	})
	return creds, bans, err
}

// LoadEach hands cred every credential and returns every ban, in one read
// transaction, and then lets go of the file's pages it read
// (boltmap.Release). It fails on the first entry that does not decode, or
// whose key is not its own (a flipped byte bbolt has no checksum for: a
// ban on "ban-mX" under the key of "ban-me" lifted that ban without a
// word), wrapping ErrCorrupt and naming the file, the key and the way on,
// rather than start a server that silently lost a ban.
func (s *Store) LoadEach(_ context.Context, cred func(identity.Credential) error) ([]identity.Ban, error) {
	var bans []identity.Ban
	err := s.view(func(tx *bolt.Tx) error {
		err := tx.Bucket(credBucket).ForEach(func(k, v []byte) error {
			c, err := identity.DecodeCredential(v)
			if err == nil && c.CID != string(k) {
				err = fmt.Errorf("it holds client ID %q", c.CID)
			}
			if err != nil {
				return s.corrupt(fmt.Errorf("credential %q: %v", k, err))
			}
			return cred(c)
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(banBucket).ForEach(func(k, v []byte) error {
			b, err := identity.DecodeBan(v)
			if err == nil && b.Key().String() != string(k) {
				err = fmt.Errorf("it holds the ban %q", b.Key().String())
			}
			if err != nil {
				return s.corrupt(fmt.Errorf("ban %q: %v", k, err))
			}
			bans = append(bans, b)
			return nil
		})
		boltmap.Release(tx)
		return err
	})
	return bans, err
}

// corrupt refuses the file for an entry that cannot be trusted, as a
// damaged page is refused (open).
func (s *Store) corrupt(cause error) error {
	return boltcheck.Refusal(ErrCorrupt, s.path, cause,
		"with no credentials and no bans (every client ID falls back to the shared password)")
}

// Credential reads cid's stored credential; false when it has none.
func (s *Store) Credential(_ context.Context, cid string) (identity.Credential, bool, error) {
	var c identity.Credential
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(credBucket).Get([]byte(cid))
		if v == nil {
			return nil
		}
		var err error
		if c, err = identity.DecodeCredential(v); err != nil {
			return fmt.Errorf("%w: credential %q: %v", ErrCorrupt, cid, err)
		}
		found = true
		return nil
	})
	return c, found, err
}

// PutCredential stores c under its client ID, fsynced on return.
func (s *Store) PutCredential(_ context.Context, c identity.Credential) error {
	raw, err := identity.EncodeCredential(c)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(credBucket).Put([]byte(c.CID), raw) })
}

// DeleteCredential removes cid's credential; none is no error.
func (s *Store) DeleteCredential(_ context.Context, cid string) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(credBucket).Delete([]byte(cid)) })
}

// PutBan stores b under "kind/value".
func (s *Store) PutBan(_ context.Context, b identity.Ban) error {
	raw, err := identity.EncodeBan(b)
	if err != nil {
		return err
	}
	k := identity.BanKey{Kind: b.Kind, Value: b.Value}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(banBucket).Put([]byte(k.String()), raw) })
}

// DeleteBan removes ban k; none is no error.
func (s *Store) DeleteBan(_ context.Context, k identity.BanKey) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(banBucket).Delete([]byte(k.String())) })
}

// ExpireBan removes b only while the file holds b itself under its key,
// in one transaction: an expiry found before the ban was made again must
// not delete the new one. won is whether it removed it.
func (s *Store) ExpireBan(_ context.Context, b identity.Ban) (won bool, err error) {
	k := []byte(b.Key().String())
	err = s.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(banBucket)
		v := bk.Get(k)
		if v == nil {
			return nil
		}
		// One that does not decode is left alone: it is not b, and Load
		// must go on refusing to start without it.
		if held, err := identity.DecodeBan(v); err != nil || !held.Same(b) {
			return nil
		}
		won = true
		return bk.Delete(k)
	})
	return won && err == nil, err
}

// Watch returns nil at once: on a single node every change is this node's
// own, already applied.
func (s *Store) Watch(context.Context, func(identity.Change)) error { return nil }

// Close stops the checks and releases the file, put back first if it
// left its path since the last check: a graceful stop keeps every write.
// It fails when that restore does, naming the file. A second Close
// returns the first's error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.stopped
		s.mu.Lock()
		defer s.mu.Unlock()
		s.restoreLocked(true)
		lost := s.keep.Healthy()
		s.closeErr = errors.Join(lost, s.db.Close(), s.keep.Close())
	})
	return s.closeErr
}

// PutCredentials stores many credentials in one transaction (one fsync),
// for a bulk enrollment or a bench's seed.
func (s *Store) PutCredentials(_ context.Context, cs []identity.Credential) error {
	raws := make([][]byte, len(cs))
	for i, c := range cs {
		raw, err := identity.EncodeCredential(c)
		if err != nil {
			return err
		}
		raws[i] = raw
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(credBucket)
		for i, c := range cs {
			if err := b.Put([]byte(c.CID), raws[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
