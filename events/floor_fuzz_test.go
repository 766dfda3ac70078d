package events

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadFloor: a floor file that reads is a number no log passes
// (at most maxFloor), and what write makes of it reads back the same, exact
// or reserved; no input panics. Seeded with what write makes and the
// damage the tests and audits tried.
func FuzzReadFloor(f *testing.F) {
	for _, seed := range []string{"10\n", "500 reserved\n", "0\n", "4611686018427387904\n", "4611686018427387905\n",
		"18446744073709551615\n", "12x\n", "garbage\x00", "", " 7 \n", "7 reserved reserved\n", "-1\n", "1e9\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "events.seq")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		n, exact, err := readFloor(path)
		if err != nil {
			return
		}
		if n > maxFloor {
			t.Fatalf("%q read as %d, past maxFloor", b, n)
		}
		fl := seqFloor{path: path}
		if err := fl.write(n, exact); err != nil {
			t.Fatal(err)
		}
		n2, exact2, err := readFloor(path)
		if err != nil || n2 != n || exact2 != exact {
			t.Fatalf("%q: wrote %d (exact %v), read %d (exact %v), %v", b, n, exact, n2, exact2, err)
		}
	})
}
