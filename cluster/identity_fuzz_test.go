package cluster

import (
	"testing"
	"time"

	"github.com/cliser/cliser/identity"
)

// FuzzIdentityValues feeds arbitrary bytes to the identity buckets'
// decoders, seeded with golden values: no panic, and whatever decodes
// encodes to a value that decodes to the same thing.
func FuzzIdentityValues(f *testing.F) {
	at := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	prev := [32]byte{9, 9, 9}
	c, err := encodeCredential(identity.Credential{CID: "pos-0042", Digest: [32]byte{1, 2, 3}, CreatedAt: at,
		Previous: &prev, PreviousValidUntil: &at})
	if err != nil {
		f.Fatal(err)
	}
	b, err := encodeBan(identity.Ban{Kind: identity.KindNet, Value: "10.1.0.0/16", Reason: "r", By: identity.ByOperator, At: at, Until: &at})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c)
	f.Add(b)
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"v":1,"cid":"x","digest":"00"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if c, err := decodeCredential(raw); err == nil {
			again, err := encodeCredential(c)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := decodeCredential(again)
			if err != nil || c2.CID != c.CID || c2.Digest != c.Digest || (c2.Previous == nil) != (c.Previous == nil) {
				t.Fatalf("credential does not round-trip: %+v then %+v, %v", c, c2, err)
			}
		}
		if b, err := decodeBan(raw); err == nil {
			again, err := encodeBan(b)
			if err != nil {
				t.Fatal(err)
			}
			b2, err := decodeBan(again)
			if err != nil || b2.Kind != b.Kind || b2.Value != b.Value || b2.Reason != b.Reason {
				t.Fatalf("ban does not round-trip: %+v then %+v, %v", b, b2, err)
			}
		}
	})
}

// FuzzBanKey: every ban key reverses to its kind and value, and is a key
// JetStream takes.
func FuzzBanKey(f *testing.F) {
	for _, v := range []string{"203.0.113.9", "10.1.0.0/16", "2001:db8::/32", "pos:0042@site.a", ""} {
		f.Add("ip", v)
	}
	f.Fuzz(func(t *testing.T, kind, value string) {
		if kind == "" || !validKeyPart(kind) {
			return
		}
		key := banKey(identity.BanKey{Kind: kind, Value: value})
		back, err := banKeyOf(key)
		if err != nil || back.Kind != kind || back.Value != value {
			t.Fatalf("%q %q -> %q -> %+v, %v", kind, value, key, back, err)
		}
	})
}

// validKeyPart: the ban kinds are plain words; nothing else is a kind.
func validKeyPart(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
