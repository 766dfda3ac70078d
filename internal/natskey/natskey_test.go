package natskey

import (
	"maps"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// What nats.go accepts as a key, and a subject token holds (no '.').
var keyChars = regexp.MustCompile(`\A[-_=a-zA-Z0-9]+\z`)

// The golden cases: client IDs and their keys, and keys no ID has.
var (
	keyGolden = map[string]string{
		"pos-0042":     "pos-0042",
		"a_b":          "a_b",
		"host.example": "host=2Eexample",
		"user@site":    "user=40site",
		"x:1":          "x=3A1",
		"..":           "=2E=2E",
	}
	badKeys = []string{"=", "=4", "=ZZ", "a=4"}
)

func TestKeyOf(t *testing.T) {
	for id, want := range keyGolden {
		got := Escape(id)
		assert.Equal(t, want, got, id)
		back, err := Unescape(got)
		require.NoError(t, err)
		assert.Equal(t, id, back)
	}
	for _, bad := range badKeys {
		_, err := Unescape(bad)
		assert.ErrorIs(t, err, ErrBadKey, bad)
	}
}

// FuzzKey: every valid client ID maps to a valid key and back; Unescape never
// panics on anything. Seeded with the golden cases.
func FuzzKey(f *testing.F) {
	for _, id := range slices.Sorted(maps.Keys(keyGolden)) {
		f.Add(id)
		f.Add(keyGolden[id])
	}
	for _, s := range append([]string{"a.b", "u@h:1", "=41", ""}, badKeys...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Unescape(s)
		if protocol.ValidateClientID([]byte(s)) != nil {
			return
		}
		k := Escape(s)
		if !keyChars.MatchString(k) {
			t.Fatalf("key %q of %q is not a valid key", k, s)
		}
		back, err := Unescape(k)
		if err != nil || back != s {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", s, back, err)
		}
	})
}
