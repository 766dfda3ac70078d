package reactor

import (
	"testing"
	"time"
)

// BenchmarkGuardAdmitDone is a handshake's two calls into the per-IP guard,
// from every P at once on one address, as the loops make them when a load
// generator's clients come from a few addresses: run it with -cpu 2.
func BenchmarkGuardAdmitDone(b *testing.B) { benchGuard(b, false) }

// BenchmarkGuardAdmitDoneSpaced is BenchmarkGuardAdmitDone with each P's
// own work between the calls, as a loop's handshake has (about 0.3 µs
// here against ~50 µs there): the other P has written the shared lines
// since, and what a call costs is mostly their moves between the cores.
func BenchmarkGuardAdmitDoneSpaced(b *testing.B) { benchGuard(b, true) }

func benchGuard(b *testing.B, spaced bool) {
	g := newIPGuard(DefaultAuthFailLimit, int64(DefaultAuthFailWindow), DefaultMaxPendingPerIP, DefaultIPv6GuardPrefix)
	now := int64(time.Second)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		p := &peer{ip: "127.0.0.1"} // each loop holds its own
		var own [64 * 64]byte
		for pb.Next() {
			if g.admit(p, now) != 0 {
				b.Fatal("refused")
			}
			if spaced {
				spaceOut(&own)
			}
			g.done(p)
			if spaced {
				spaceOut(&own)
			}
		}
	})
}

// spaceOut writes a line of each of own's 64: a P's own work.
func spaceOut(own *[64 * 64]byte) {
	for i := 0; i < len(own); i += 64 {
		own[i]++
	}
}
