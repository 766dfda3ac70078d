package identity_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
)

// BenchmarkAdmit is the event loop's side of a handshake with credentials:
// Admit for client IDs among 20,000 enrolled, each with its own secret's
// digest (the SHA-256 itself is the reactor's, the same for a shared
// password). Flapping is off: the bench admits each ID many times.
func BenchmarkAdmit(b *testing.B) {
	s := identity.New(identity.WithFlapping(0, 0, 0))
	require.NoError(b, s.Start(b.Context()))
	b.Cleanup(func() { _ = s.Close() })
	const n = 20000
	cids := make([]string, n)
	digests := make([][32]byte, n)
	for i := range cids {
		cids[i] = fmt.Sprintf("bench-%d", i)
		secret, _, err := s.Enroll(b.Context(), cids[i], 0)
		require.NoError(b, err)
		digests[i] = identity.Digest([]byte(secret))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if s.Admit(cids[i], &digests[i], false) != protocol.ReasonNone {
			b.Fatal("refused")
		}
		i = (i + 7919) % n // not in enrollment order
	}
}

// BenchmarkAdmitSharedPassword is Admit as `cliser serve` without
// credentials calls it, from every event loop at once (RunParallel, one
// goroutine a P): the shared password, no credential, no client-ID ban.
func BenchmarkAdmitSharedPassword(b *testing.B) {
	s := identity.New(identity.WithFlapping(0, 0, 0))
	require.NoError(b, s.Start(b.Context()))
	b.Cleanup(func() { _ = s.Close() })
	d := identity.Digest([]byte("shared"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s.Admit("bench-1", &d, true) != protocol.ReasonNone {
				b.Fatal("refused")
			}
		}
	})
}
