package identity

import (
	"testing"
	"time"
)

// FuzzIdentityValues feeds arbitrary bytes to the stored-value decoders
// (the bbolt file's and the cluster buckets'), seeded with golden values:
// no panic, and whatever decodes encodes to a value that decodes to the
// same thing.
func FuzzIdentityValues(f *testing.F) {
	at := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	prev := [32]byte{9, 9, 9}
	golden := []any{
		Credential{CID: "pos-0042", Digest: [32]byte{1, 2, 3}, CreatedAt: at, Previous: &prev, PreviousValidUntil: &at},
		Credential{CID: "pos-1", Digest: Digest([]byte("x")), CreatedAt: time.Unix(1e9, 0)},
		Ban{Kind: KindNet, Value: "10.1.0.0/16", Reason: "r", By: ByOperator, At: at, Until: &at},
		Ban{Kind: "ip", Value: "192.0.2.1", By: "operator", At: time.Unix(1e9, 0)},
	}
	for _, g := range golden {
		var raw []byte
		var err error
		switch v := g.(type) {
		case Credential:
			raw, err = EncodeCredential(v)
		case Ban:
			raw, err = EncodeBan(v)
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{`{"v":2}`, `{"v":1,"cid":"x","digest":"00"}`, `{"v":1,"digest":"zz"}`,
		`{"v":1,"kind":"net","value":"10.0.0.0/99"}`, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if c, err := DecodeCredential(raw); err == nil {
			again, err := EncodeCredential(c)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := DecodeCredential(again)
			if err != nil || c2.CID != c.CID || c2.Digest != c.Digest || (c2.Previous == nil) != (c.Previous == nil) {
				t.Fatalf("credential does not round-trip: %+v then %+v, %v", c, c2, err)
			}
		}
		if b, err := DecodeBan(raw); err == nil {
			again, err := EncodeBan(b)
			if err != nil {
				t.Fatal(err)
			}
			b2, err := DecodeBan(again)
			if err != nil || b2.Kind != b.Kind || b2.Value != b.Value || b2.Reason != b.Reason {
				t.Fatalf("ban does not round-trip: %+v then %+v, %v", b, b2, err)
			}
		}
	})
}

// A credential without a grace period, as every Load reads tens of
// thousands of them, decodes allocating its client ID's string only.
func TestDecodeCredentialAllocatesItsClientIDOnly(t *testing.T) {
	c := Credential{CID: "bench-12345", Digest: Digest([]byte("s")), CreatedAt: time.Date(2026, 11, 30, 7, 0, 0, 1, time.UTC)}
	raw, err := EncodeCredential(c)
	if err != nil {
		t.Fatal(err)
	}
	var got Credential
	if !decodeCurrent(raw, &got) || got.CID != c.CID || got.Digest != c.Digest || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("the fast path did not read %s: %+v", raw, got)
	}
	allocs := testing.AllocsPerRun(100, func() { got, err = DecodeCredential(raw) })
	if err != nil || allocs > 1 {
		t.Fatalf("DecodeCredential: %v allocations (want 1), %v", allocs, err)
	}
}
