package registry_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/logstore"
	"github.com/cliser/cliser/registry/registrytest"
)

const benchRecords = 50_000

func benchCIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = cidN(i)
	}
	return out
}

// BenchmarkRegisterDisconnect is one connection's life in the registry:
// register (a known client coming back, among 50k records) and disconnect.
func BenchmarkRegisterDisconnect(b *testing.B) {
	r, cids := disconnectedRecords(b)
	c := newConn()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		cid := cids[i%len(cids)]
		i++
		if _, _, err := r.RegisterPort(cid, &testCIP, 4000, c); err != nil {
			b.Fatal(err)
		}
		if !r.Disconnect(cid, c, protocol.ReasonClosedByClient) {
			b.Fatal("not disconnected")
		}
	}
}

// disconnectedRecords is a registry of benchRecords records, none connected.
func disconnectedRecords(b *testing.B, opts ...registry.Option) (*registry.Registry, []string) {
	r := registry.New(opts...)
	cids := benchCIDs(benchRecords)
	c := newConn()
	for _, cid := range cids {
		_, _, err := r.Register(cid, "192.0.2.1", "4000", c)
		require.NoError(b, err)
		r.Disconnect(cid, c, protocol.ReasonClosedByClient)
	}
	return r, cids
}

// BenchmarkTouch is the keep-alive hot path with 50k clients connected.
func BenchmarkTouch(b *testing.B) {
	r := registry.New()
	cids := benchCIDs(benchRecords)
	sids := make([]uint16, len(cids))
	conns := make([]*testConn, len(cids))
	for i, cid := range cids {
		sids[i], conns[i] = mustRegister(b, r, cid)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.Touch(sids[i%len(sids)], conns[i%len(sids)])
			i++
		}
	})
	// Every event loop touches at once: the registry's one lock is shared.
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				r.Touch(sids[i%len(sids)], conns[i%len(sids)])
				i += 7
			}
		})
	})
}

// BenchmarkListPage is one admin API page of 100 out of 50k records (a
// third disconnected), at cursors spread over the whole range.
func BenchmarkListPage(b *testing.B) {
	r := registry.New()
	cids := benchCIDs(benchRecords)
	for i, cid := range cids {
		_, c := mustRegister(b, r, cid)
		if i%3 == 0 {
			r.Disconnect(cid, c, protocol.ReasonClosedByClient)
		}
	}
	for _, bc := range []struct {
		name   string
		status registry.Status
	}{{"all", registry.StatusAll}, {"connected", registry.StatusConnected}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// Cursors over the first 49k so every page is full.
				after := cids[(i*7919)%(benchRecords-1000)]
				i++
				p := r.List(registry.Query{Status: bc.status, After: after, Limit: 100})
				if len(p.Records) != 100 {
					b.Fatalf("page of %d", len(p.Records))
				}
			}
		})
	}
}

// BenchmarkConns is the snapshot a broadcast (POST /v1/shutdown) takes.
func BenchmarkConns(b *testing.B) {
	r := registry.New()
	for _, cid := range benchCIDs(benchRecords) {
		_, _ = mustRegister(b, r, cid)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(r.Conns()) != benchRecords {
			b.Fatal("wrong count")
		}
	}
}

// BenchmarkFlush100 is one write-behind batch of 100 changed records into
// the real store (logstore), fsync included: what the flusher pays per
// interval under churn, off the hot path.
func BenchmarkFlush100(b *testing.B) { benchFlush(b, 100, 100) }

// BenchmarkFlushBurst is the flush after a burst of 5 000 known clients
// came back among 20 000 stored records (cliser-bench's handshake bursts):
// the flusher shares the server's CPU with the handshakes.
func BenchmarkFlushBurst(b *testing.B) { benchFlush(b, 20_000, 5_000) }

// BenchmarkFlushBurstSpread is cliser-bench's burst as the flusher sees
// it: 5 000 of 20 000 stored clients come back, with the harness's ids
// (bench-N: the first 5 000 are scattered over the cid order) and in
// flushes of 400, about what a 250 ms flush interval takes of a burst.
func BenchmarkFlushBurstSpread(b *testing.B) {
	cids := make([]string, 20_000)
	for i := range cids {
		cids[i] = fmt.Sprintf("bench-%d", i)
	}
	benchFlushIn(b, cids, 5_000, 400)
}

// benchFlush stores `stored` records, then times flushing the reconnect of
// the first `changed` of them.
func benchFlush(b *testing.B, stored, changed int) {
	benchFlushIn(b, benchCIDs(stored), changed, changed)
}

// benchFlushIn stores a record per cid, then times flushing the reconnect
// of the first `changed` of them, `per` at a time.
func benchFlushIn(b *testing.B, cids []string, changed, per int) {
	s, err := logstore.Open(b.TempDir())
	require.NoError(b, err)
	defer s.Close()
	r := registry.New(registry.WithStore(s))
	conns := make([]*testConn, len(cids))
	for i, cid := range cids {
		_, conns[i] = mustRegister(b, r, cid)
	}
	require.NoError(b, r.Flush())
	b.ReportAllocs()
	syncs := s.Stats().Syncs
	var cpu time.Duration // the process's, GC and the kernel's write and fsync included
	for b.Loop() {
		for lo := 0; lo < changed; lo += per {
			b.StopTimer()
			for i := lo; i < min(lo+per, changed); i++ {
				r.Disconnect(cids[i], conns[i], protocol.ReasonClosedByClient)
				_, _, _ = r.Register(cids[i], "192.0.2.1", "4000", conns[i])
			}
			b.StartTimer()
			c0 := processCPU(b)
			if err := r.Flush(); err != nil {
				b.Fatal(err)
			}
			cpu += processCPU(b) - c0
		}
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(changed), "cpu-ns/record")
	b.ReportMetric(float64(s.Stats().Syncs-syncs)/float64(b.N), "fdatasyncs/op")
}

// processCPU is the process's user and system CPU so far: a flush's cost
// on a busy machine, where its wall time is mostly waiting for fsync.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTakeBurstSpread is the registry's own part of
// BenchmarkFlushBurstSpread's flushes, with no store: taking 400 changed
// records of 20 000 out under the lock the event loops register under.
// Until session 9 each such flush walked all 20 000 records of the B-tree
// with a map lookup each (issue 17).
func BenchmarkTakeBurstSpread(b *testing.B) {
	const stored, changed, per = 20_000, 5_000, 400
	r := registry.New()
	cids := make([]string, stored)
	conns := make([]*testConn, stored)
	for i := range cids {
		cids[i] = fmt.Sprintf("bench-%d", i)
		_, conns[i] = mustRegister(b, r, cids[i])
	}
	require.NoError(b, r.Flush())
	b.ReportAllocs()
	for b.Loop() {
		for lo := 0; lo < changed; lo += per {
			b.StopTimer()
			for i := lo; i < lo+per; i++ {
				r.Disconnect(cids[i], conns[i], protocol.ReasonClosedByClient)
				_, _, _ = r.Register(cids[i], "192.0.2.1", "4000", conns[i])
			}
			b.StartTimer()
			require.NoError(b, r.Flush())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/changed, "ns/record")
}

// BenchmarkRegisterDisconnectSIDParallel is BenchmarkRegisterDisconnect as
// the loops make the calls: by sid, from every P at once (run it with
// -cpu 2), each P its own clients among 50k records.
func BenchmarkRegisterDisconnectSIDParallel(b *testing.B) { benchRegisterDisconnectSID(b, false) }

// BenchmarkRegisterDisconnectSIDSpaced is the parallel benchmark with each
// P's own work between the calls, as a loop's handshake has: the lock is
// seldom contended (as in the harness's profiles), and what the calls
// cost is mostly the registry's lines the other P wrote since.
func BenchmarkRegisterDisconnectSIDSpaced(b *testing.B) { benchRegisterDisconnectSID(b, true) }

func benchRegisterDisconnectSID(b *testing.B, spaced bool) {
	r, cids := disconnectedRecords(b)
	registrytest.RunRegistrations(b, r, cids, &testCIP, 4000, func() (registry.Conn, func()) {
		var own [64 * 64]byte
		if !spaced {
			return newConn(), func() {}
		}
		return newConn(), func() { spaceOut(&own) }
	})
}

// spaceOut writes a line of each of own's 64: a P's own work.
func spaceOut(own *[64 * 64]byte) {
	for i := 0; i < len(own); i += 64 {
		own[i]++
	}
}

// BenchmarkRegisterDisconnectChanges is a connection's life (a known
// client among 50k registering, then its disconnect by sid; run it with
// -cpu 1) with a sink for the changes,
// as the event log's emit has one: what the two changes' records cost the
// loop that makes them (issue 17).
func BenchmarkRegisterDisconnectChanges(b *testing.B) {
	var last registry.Change
	r, cids := disconnectedRecords(b, registry.WithChanges(func(c registry.Change) { last = c }))
	registrytest.RunRegistrations(b, r, cids, &testCIP, 40000, func() (registry.Conn, func()) {
		return newConn(), func() {}
	})
	_ = last
}
