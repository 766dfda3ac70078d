package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// SecretBytes is the size of a generated secret before encoding.
const SecretBytes = 32

// NewSecret returns a fresh secret: 32 bytes from crypto/rand written
// base64url without padding (43 characters, all valid in a 110 answer).
func NewSecret() string {
	var b [SecretBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Digest is the SHA-256 of a secret, the only form the service keeps. A fast
// hash is right here: the secret is 256 random bits, not a password a person
// chose, and a slow hash would cost every handshake milliseconds.
func Digest(secret []byte) [32]byte { return sha256.Sum256(secret) }
