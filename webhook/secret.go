package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cliser/cliser/internal/secretfile"
)

// SecretEnv is the environment variable that holds the signing secrets.
// Secrets are never flags: a flag shows in ps and in shell history.
const SecretEnv = "CLISER_WEBHOOK_SECRET"

const secretPrefix = "whsec_"

// Signer signs a request with every configured secret (Standard Webhooks,
// "v1" HMAC-SHA256). Several secrets give several signatures, so a
// receiver can rotate its secret without a gap. Safe for concurrent use.
//
// The HMAC is the specification's few lines, streamed over the body: the
// Go library's Sign builds id.timestamp.body with fmt.Sprintf, two copies
// of every body (half of delivery's garbage in a storm). The tests hold it
// to the specification's test vector, to an HMAC written from its text and
// to the library's Verify.
type Signer struct {
	keys [][]byte
}

// minKeyBytes is the shortest key Standard Webhooks recommends (it says
// 24 to 64 bytes, "should"). A shorter one signs, as its libraries
// accept it, and the Deliverer warns of it.
const minKeyBytes = 24

// ParseSecrets reads whitespace-separated secrets of the form
// whsec_<base64>. An empty string is ErrNoSecret. Errors name the
// position of a bad secret, never its text.
func ParseSecrets(s string) (*Signer, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, ErrNoSecret
	}
	sg := &Signer{}
	for i, f := range fields {
		raw, ok := strings.CutPrefix(f, secretPrefix)
		if !ok {
			return nil, fmt.Errorf("secret %d of %d: %w", i+1, len(fields), ErrBadSecret)
		}
		key, err := base64.StdEncoding.DecodeString(raw)
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("secret %d of %d: %w", i+1, len(fields), ErrBadSecret)
		}
		sg.keys = append(sg.keys, key)
	}
	return sg, nil
}

// LoadSecrets gathers the secrets of the environment variable SecretEnv
// and of file (when not empty; secrets separated by spaces or newlines).
func LoadSecrets(file string) (*Signer, error) {
	all := os.Getenv(SecretEnv)
	if file != "" {
		raw, err := secretfile.Read(file)
		if err != nil {
			return nil, fmt.Errorf("webhook secret file: %w", err)
		}
		all += " " + string(raw)
	}
	return ParseSecrets(all)
}

// Len is the number of secrets, hence of signatures on each request.
func (s *Signer) Len() int { return len(s.keys) }

// short are the positions (from 1) and lengths of keys under minKeyBytes.
func (s *Signer) short() (at, bytes []int) {
	for i, k := range s.keys {
		if len(k) < minKeyBytes {
			at, bytes = append(at, i+1), append(bytes, len(k))
		}
	}
	return at, bytes
}

// Sign returns the webhook-signature header's value for the request id
// sent at ts with body: "v1,<base64>" for each secret, space-separated.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	return string(s.newMACs().sign(id, ts.Unix(), body))
}

// macs are a Signer's keyed HMACs and buffers, reused request after
// request: Reset restores an HMAC's keyed state without hashing the key
// again, and nothing is allocated. Not safe for concurrent use (the
// Deliverer keeps one for its goroutine).
type macs struct {
	hs       []hash.Hash
	buf, sum []byte
}

func (s *Signer) newMACs() *macs {
	m := &macs{}
	for _, key := range s.keys {
		m.hs = append(m.hs, hmac.New(sha256.New, key))
	}
	return m
}

// sign returns the webhook-signature header's value, valid until the
// next sign.
func (m *macs) sign(id string, unix int64, body []byte) []byte {
	// id "." timestamp "." then the body, streamed: not copied.
	b := append(append(m.buf[:0], id...), '.')
	b = append(strconv.AppendInt(b, unix, 10), '.')
	n := len(b)
	for i, mac := range m.hs {
		mac.Reset()
		mac.Write(b[:n])
		mac.Write(body)
		m.sum = mac.Sum(m.sum[:0])
		if i > 0 {
			b = append(b, ' ')
		}
		b = base64.StdEncoding.AppendEncode(append(b, "v1,"...), m.sum)
	}
	m.buf = b
	return b[n:]
}
