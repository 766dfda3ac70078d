package identity

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzParseBan feeds arbitrary kinds, values and durations to the ban
// parsers (the admin API and the CLI hand them operator text). A value
// they accept is canonical: parsing it again gives it back unchanged, and
// its key round-trips through ParseBanKey (the list cursor).
func FuzzParseBan(f *testing.F) {
	for _, seed := range []struct{ kind, value, dur string }{
		{"cid", "pos-0042", ""},
		{"cid", "a@b:c.d_e-f", "1h"},
		{"cid", "bad id", ""},
		{"ip", "203.0.113.9", "90m"},
		{"ip", "2001:db8::1", ""},
		{"ip", "::ffff:10.1.2.3", ""},
		{"ip", "fe80::1%eth0", ""},
		{"ip", "300.1.1.1", ""},
		{"net", "10.1.0.0/16", "24h"},
		{"net", "10.1.2.3/16", ""},
		{"net", "::ffff:10.0.0.0/104", ""},
		{"net", "2001:db8::/32", ""},
		{"net", "10.0.0.0/33", ""},
		{"host", "x", "-1h"},
		{"ip", "", "0s"},
	} {
		f.Add(seed.kind, seed.value, seed.dur)
	}
	f.Fuzz(func(t *testing.T, kind, value, dur string) {
		if d, err := ParseBanDuration(dur); err == nil && d < 0 {
			t.Fatalf("duration %q parsed as negative %v", dur, d)
		}
		v, err := ParseBanValue(kind, value)
		if err != nil {
			return
		}
		again, err := ParseBanValue(kind, v)
		if err != nil || again != v {
			t.Fatalf("%s %q: canonical %q parses as %q, %v", kind, value, v, again, err)
		}
		k, ok := ParseBanKey(BanKey{Kind: kind, Value: v}.String())
		if !ok || k.Kind != kind || k.Value != v {
			t.Fatalf("key of %s %q does not round-trip: %+v %v", kind, v, k, ok)
		}
		switch kind {
		case KindIP:
			if a := netip.MustParseAddr(v); a.Is4In6() || a.Zone() != "" {
				t.Fatalf("ip %q kept a mapping or zone", v)
			}
		case KindNet:
			if p := netip.MustParsePrefix(v); p != p.Masked() {
				t.Fatalf("net %q is not masked", v)
			}
		case KindCID:
			if strings.ContainsAny(v, " /\n") {
				t.Fatalf("cid %q holds a separator", v)
			}
		}
	})
}

// FuzzDecodeCurrent holds the stored credential's fast path to
// encoding/json's reading: whatever it accepts, the JSON decoder reads as
// the same credential. Seeded with what EncodeCredential writes, and with
// near misses (escapes, a short digest, another zone, a grace period).
func FuzzDecodeCurrent(f *testing.F) {
	at := time.Date(2026, 11, 30, 7, 0, 0, 123456789, time.UTC)
	for _, c := range []Credential{
		{CID: "bench-19999", Digest: Digest([]byte("s")), CreatedAt: at},
		{CID: "a@b:c.d_e-f", Digest: [32]byte{0xff}, CreatedAt: time.Unix(0, 0).UTC()},
		{CID: strings.Repeat("x", 64), CreatedAt: at},
	} {
		raw, err := EncodeCredential(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{
		`{"v":1,"cid":"pos\u002d1","digest":"0101010101010101010101010101010101010101010101010101010101010101","created_at":"2026-11-30T07:00:00Z"}`,
		`{"v":1,"cid":"pos-1","digest":"0101","created_at":"2026-11-30T07:00:00Z"}`,
		`{"v":1,"cid":"pos-1","digest":"0101010101010101010101010101010101010101010101010101010101010101","created_at":"2026-11-30T07:00:00+02:00"}`,
		`{"v":1,"cid":"pos-1","digest":"0101010101010101010101010101010101010101010101010101010101010101","created_at":"2026-11-30T07:00:00Z","previous":"02"}`,
		`{"v":2,"cid":"pos-1","digest":"0101010101010101010101010101010101010101010101010101010101010101","created_at":"2026-11-30T07:00:00Z"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast Credential
		if !decodeCurrent(raw, &fast) {
			return
		}
		slow, err := decodeCredentialJSON(raw)
		if err != nil {
			t.Fatalf("%q: the fast path read %+v, encoding/json refused: %v", raw, fast, err)
		}
		if fast.CID != slow.CID || fast.Digest != slow.Digest || !fast.CreatedAt.Equal(slow.CreatedAt) ||
			fast.CreatedAt.Location().String() != slow.CreatedAt.Location().String() || slow.Previous != nil || slow.PreviousValidUntil != nil {
			t.Fatalf("%q: fast %+v, encoding/json %+v", raw, fast, slow)
		}
	})
}
