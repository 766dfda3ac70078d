package reactor

import (
	"crypto/sha256"
	"crypto/subtle"
)

// authenticator checks passwords in constant time. It keeps only SHA-256
// digests and compares digests: ConstantTimeCompare returns at once on
// different lengths, so comparing the passwords themselves would tell an
// attacker how long one is. Every accepted password is compared, whatever
// matched, so the time also tells nothing about which one did.
type authenticator struct {
	digests [][sha256.Size]byte
}

func newAuthenticator(pw [][]byte) *authenticator {
	a := &authenticator{digests: make([][sha256.Size]byte, len(pw))}
	for i, p := range pw {
		a.digests[i] = sha256.Sum256(p)
	}
	return a
}

func (a *authenticator) check(given []byte) bool {
	d := sha256.Sum256(given)
	return a.checkDigest(&d)
}

// checkDigest is check for a password already hashed.
func (a *authenticator) checkDigest(d *[sha256.Size]byte) bool {
	ok := 0
	for i := range a.digests {
		ok |= subtle.ConstantTimeCompare(a.digests[i][:], d[:])
	}
	return ok == 1
}
