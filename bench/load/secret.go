package load

import (
	"crypto/sha256"
	"encoding/base64"
)

// Secret is the secret a bench enrolls for client id under key (see
// Config.SecretKey): 43 base64url characters, like the ones `cliser
// credentials add` makes, derived so that the bench that seeds the
// credentials and every load process agree without passing 19,000
// secrets around. A bench secret, not a real one: anyone who knows the
// key knows them all.
func Secret(key, id string) string {
	d := sha256.Sum256([]byte(key + "/" + id))
	return base64.RawURLEncoding.EncodeToString(d[:])
}
