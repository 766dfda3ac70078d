package reactor

import "crypto/subtle"

// authenticator checks passwords in constant time. Every accepted password
// is compared, whatever matched, so the time taken tells nothing about which
// one did or how much of it.
type authenticator struct {
	passwords [][]byte
}

func newAuthenticator(pw [][]byte) *authenticator {
	cp := make([][]byte, len(pw))
	for i, p := range pw {
		cp[i] = append([]byte(nil), p...)
	}
	return &authenticator{passwords: cp}
}

func (a *authenticator) check(given []byte) bool {
	ok := 0
	for _, p := range a.passwords {
		ok |= subtle.ConstantTimeCompare(p, given)
	}
	return ok == 1
}
