package reactor

import (
	"testing"

	"github.com/cliser/cliser/registry"
)

// BenchmarkCheckPassword is a handshake's 110 answer on a loop: the
// digest of the answer and its constant-time check against every shared
// password (three: a rotation under way and one more). It runs per
// handshake, so it must not allocate.
func BenchmarkCheckPassword(b *testing.B) {
	srv, err := New(registry.New(), WithPasswords([][]byte{[]byte("old-password"), []byte("new-password"), []byte("third-password")}))
	if err != nil {
		b.Fatal(err)
	}
	s := &session{lp: newLoop(srv, nil)}
	pw := []byte("new-password")
	b.ReportAllocs()
	for b.Loop() {
		if !s.checkPassword(pw) {
			b.Fatal("refused")
		}
	}
}
