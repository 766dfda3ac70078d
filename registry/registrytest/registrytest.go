// Package registrytest holds the fixtures the tests of registry.Record's
// two encodings share: the cluster bucket's JSON (package cluster) and the
// registry store's records (package registry/logstore); and the loops'
// registrations that the registry's and node's benchmarks drive.
package registrytest

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// The instants the record encodings' golden cases are written at: the
// cluster bucket's JSON and the registry store's records pin the same two,
// whole seconds and nanoseconds that must survive a round trip.
var (
	RecordT0 = time.Date(2026, 11, 25, 19, 1, 58, 0, time.UTC)
	RecordT1 = time.Date(2026, 11, 25, 19, 2, 28, 123456789, time.UTC)
)

// FutureReason is the Reason this build keeps for text, a close reason a
// newer version wrote. It panics on a text no version could write (a
// test's typo), so it is for test tables only.
func FutureReason(text string) protocol.Reason {
	var r protocol.Reason
	if err := r.UnmarshalText([]byte(text)); err != nil {
		panic(err)
	}
	return r
}

// RunRegistrations is b.N registrations and disconnects (by sid) from
// every P at once, as the event loops make them: each P its own clients
// of cids (one in GOMAXPROCS), its connection and its own work, which
// newP gives and which runs after each call. The registry's parallel
// benchmarks and node's BenchmarkEmit share it.
func RunRegistrations(b *testing.B, r *registry.Registry, cids []string, cip *string, port uint16,
	newP func() (conn registry.Conn, own func())) {
	var next atomic.Int64
	step := runtime.GOMAXPROCS(0) // RunParallel's goroutines: one cid in step each
	b.ReportAllocs()
	b.ResetTimer() // not the caller's setup
	b.RunParallel(func(pb *testing.PB) {
		c, own := newP()
		i := int(next.Add(1)) - 1
		for pb.Next() {
			cid := cids[i%len(cids)]
			i += step
			sid, _, err := r.RegisterPort(cid, cip, port, c)
			if err != nil {
				b.Fatal(err)
			}
			own()
			if _, owned := r.DisconnectSID(sid, c, protocol.ReasonClosedByClient); !owned {
				b.Fatal("not disconnected")
			}
			own()
		}
	})
}
