package identity

import (
	"net/netip"
	"strings"
	"testing"
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
