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
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/boltcheck"
	"github.com/cliser/cliser/internal/boltmap"
)

// FileName is the database file's name inside the data dir.
const FileName = "identity.db"

var (
	credBucket = []byte("credentials")
	banBucket  = []byte("bans")
)

// Store is an identity.Store on a bbolt file. Safe for concurrent use.
type Store struct {
	db *bolt.DB
}

var (
	_ identity.Store      = (*Store)(nil)
	_ identity.EachLoader = (*Store)(nil)
)

// Open creates dir when needed (mode 0700) and opens or creates
// <dir>/identity.db (mode 0600: it holds digests and client addresses).
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("identity boltstore: data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Checked whole (a small file, read whole by the load anyway): a
	// damaged page made bbolt panic at start, a truncated file SIGBUS.
	db, err := boltcheck.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second}, true, func(cause error) error {
		return boltcheck.Refusal(boltcheck.ErrDamaged, path, cause,
			"with no credentials and no bans (every client ID falls back to the shared password)")
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if errors.Is(err, boltcheck.ErrDamaged) {
		return nil, fmt.Errorf("identity boltstore: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("identity boltstore: open %s: %w", path, err)
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
	return &Store{db: db}, nil
}

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
// (boltmap.Release). It fails on the first entry that does not decode
// (wrapping ErrCorrupt and naming the key) rather than start a server
// that silently lost a ban.
func (s *Store) LoadEach(_ context.Context, cred func(identity.Credential) error) ([]identity.Ban, error) {
	var bans []identity.Ban
	err := s.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(credBucket).ForEach(func(k, v []byte) error {
			c, err := identity.DecodeCredential(v)
			if err != nil {
				return fmt.Errorf("%w: credential %q: %v", ErrCorrupt, k, err)
			}
			return cred(c)
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(banBucket).ForEach(func(k, v []byte) error {
			b, err := identity.DecodeBan(v)
			if err != nil {
				return fmt.Errorf("%w: ban %q: %v", ErrCorrupt, k, err)
			}
			bans = append(bans, b)
			return nil
		})
		boltmap.Release(tx)
		return err
	})
	return bans, err
}

// Credential reads cid's stored credential; false when it has none.
func (s *Store) Credential(_ context.Context, cid string) (identity.Credential, bool, error) {
	var c identity.Credential
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
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
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(credBucket).Put([]byte(c.CID), raw) })
}

// DeleteCredential removes cid's credential; none is no error.
func (s *Store) DeleteCredential(_ context.Context, cid string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(credBucket).Delete([]byte(cid)) })
}

// PutBan stores b under "kind/value".
func (s *Store) PutBan(_ context.Context, b identity.Ban) error {
	raw, err := identity.EncodeBan(b)
	if err != nil {
		return err
	}
	k := identity.BanKey{Kind: b.Kind, Value: b.Value}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(banBucket).Put([]byte(k.String()), raw) })
}

// DeleteBan removes ban k; none is no error.
func (s *Store) DeleteBan(_ context.Context, k identity.BanKey) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(banBucket).Delete([]byte(k.String())) })
}

// ExpireBan removes b only while the file holds b itself under its key,
// in one transaction: an expiry found before the ban was made again must
// not delete the new one. won is whether it removed it.
func (s *Store) ExpireBan(_ context.Context, b identity.Ban) (won bool, err error) {
	k := []byte(b.Key().String())
	err = s.db.Update(func(tx *bolt.Tx) error {
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

// Close releases the file.
func (s *Store) Close() error { return s.db.Close() }

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
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(credBucket)
		for i, c := range cs {
			if err := b.Put([]byte(c.CID), raws[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
