package cluster

import (
	"testing"

	"github.com/cliser/cliser/identity"
)

// banKeyValues are ban values of every kind's shape: the golden cases of
// the bans' keys and of their notices.
var banKeyValues = []string{"203.0.113.9", "10.1.0.0/16", "2001:db8::/32", "pos:0042@site.a", ""}

// FuzzBanKey: every ban key reverses to its kind and value, and is a key
// JetStream takes.
func FuzzBanKey(f *testing.F) {
	for _, v := range banKeyValues {
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
