// Package secretset checks a secret against a set of accepted ones (the
// shared passwords, the admin API's tokens) in constant time, and lets the
// set be swapped whole while it is checked against (a reload on SIGHUP).
//
// Only SHA-256 digests are kept, and digests are compared:
// subtle.ConstantTimeCompare returns at once on different lengths, so
// comparing the secrets themselves would tell an attacker how long one is.
// Every entry is compared, whatever matched, so the time also tells nothing
// about which one did.
package secretset

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync/atomic"
)

// Digest is a secret's SHA-256 digest.
type Digest = [sha256.Size]byte

// Set is a set of accepted secrets. The zero Set is empty. Safe for
// concurrent use: Match reads the set through an atomic pointer, so a
// Replace never waits for it.
type Set struct {
	digests atomic.Pointer[[]Digest]
}

// Replace makes secrets the set from the next Match on; a Match under way
// finishes against the set it began with.
func (s *Set) Replace(secrets [][]byte) {
	ds := make([]Digest, len(secrets))
	for i, secret := range secrets {
		ds[i] = sha256.Sum256(secret)
	}
	s.digests.Store(&ds)
}

// Len is how many secrets the set holds.
func (s *Set) Len() int { return len(s.load()) }

// Match reports whether given is one of the secrets.
func (s *Set) Match(given []byte) bool {
	d := sha256.Sum256(given)
	return s.MatchDigest(&d)
}

// MatchDigest is Match for a secret already hashed, for a caller that
// keeps the digest anyway. It does not allocate.
func (s *Set) MatchDigest(d *Digest) bool { return matches(s.load(), d) > 0 }

func (s *Set) load() []Digest {
	if p := s.digests.Load(); p != nil {
		return *p
	}
	return nil
}

// matches counts the digests equal to d. It compares every one, whatever
// matched: the time taken depends on the set's size alone.
func matches(digests []Digest, d *Digest) int {
	n := 0
	for i := range digests {
		n += subtle.ConstantTimeCompare(digests[i][:], d[:])
	}
	return n
}
