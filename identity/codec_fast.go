package identity

import (
	"bytes"
	"encoding/hex"

	"github.com/cliser/cliser/protocol"
)

// The stored form of a credential without a grace period, exactly as
// EncodeCredential writes it. A Load reads tens of thousands of them at
// start, and encoding/json leaves ~400 B of garbage apiece: enough to run
// the GC over megabytes that the runtime keeps resident afterwards
// (~1 MB of heap and GC metadata, counted in the server's RSS from its
// start). This reads that form allocating only the client ID's string.
var (
	fastHead    = []byte(`{"v":1,"cid":"`)
	fastDigest  = []byte(`","digest":"`)
	fastCreated = []byte(`","created_at":"`)
	fastTail    = []byte(`"}`)
)

// decodeCurrent reads raw into c if it is that exact form; false (c
// untouched or partly set) sends the caller to encoding/json, which reads
// anything EncodeCredential wrote.
func decodeCurrent(raw []byte, c *Credential) bool {
	rest, ok := bytes.CutPrefix(raw, fastHead)
	end := bytes.IndexByte(rest, '"')
	if !ok || end < 0 || protocol.ValidateClientID(rest[:end]) != nil {
		return false
	}
	cid := rest[:end]
	rest, ok = bytes.CutPrefix(rest[end:], fastDigest)
	if !ok || len(rest) < 2*len(c.Digest) {
		return false
	}
	if _, err := hex.Decode(c.Digest[:], rest[:2*len(c.Digest)]); err != nil {
		return false
	}
	rest, ok = bytes.CutPrefix(rest[2*len(c.Digest):], fastCreated)
	end = bytes.IndexByte(rest, '"')
	if !ok || end < 0 || !bytes.Equal(rest[end:], fastTail) || c.CreatedAt.UnmarshalText(rest[:end]) != nil {
		return false
	}
	c.CID, c.Previous, c.PreviousValidUntil = string(cid), nil, nil
	return true
}
