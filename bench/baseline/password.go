package baseline

import (
	"crypto/sha256"
	"crypto/subtle"
)

// passwordSet checks a candidate against the accepted passwords in constant
// time. It compares SHA-256 digests, so neither the content nor the length
// of an accepted password shows in the timing, and it always compares
// against every accepted password rather than stopping at the first match.
type passwordSet struct {
	digests [][sha256.Size]byte
}

func newPasswordSet(passwords [][]byte) passwordSet {
	s := passwordSet{digests: make([][sha256.Size]byte, len(passwords))}
	for i, p := range passwords {
		s.digests[i] = sha256.Sum256(p)
	}
	return s
}

func (s passwordSet) accepts(candidate []byte) bool {
	d := sha256.Sum256(candidate)
	ok := 0
	for i := range s.digests {
		ok |= subtle.ConstantTimeCompare(d[:], s.digests[i][:])
	}
	return ok == 1
}
