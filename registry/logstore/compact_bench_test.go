package logstore

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// BenchmarkCompact20k is a compaction as the harness's 19 000 clients
// cause it: a snapshot of 20 000 records and a log of 20 000 changes of
// them, merged into a new snapshot, fsync and rename included. Its wall
// time is mostly waiting for the fsyncs on a busy machine, so it reports
// the process's CPU and minor page faults a compaction too, and the CPU a
// log entry folded: what a compaction costs a change, amortized.
func BenchmarkCompact20k(b *testing.B) { benchCompact(b, 1) }

// BenchmarkCompact20kLog40k is the same snapshot with a log twice as
// long: what a bound of twice the snapshot would cost a compaction.
func BenchmarkCompact20kLog40k(b *testing.B) { benchCompact(b, 2) }

// benchCompact times compacting 20 000 records and a log of rounds
// changes of each of them.
func benchCompact(b *testing.B, rounds int) {
	s, err := Open(b.TempDir(), withCompactMin(1<<30))
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	fill20k(b, s, 1)
	require.NoError(b, s.compact())
	b.ReportAllocs()
	var spent rusage
	for b.Loop() {
		b.StopTimer()
		for r := range rounds {
			fill20k(b, s, uint16(2+r))
		}
		b.StartTimer()
		r0 := processUsage(b)
		if err := s.compact(); err != nil {
			b.Fatal(err)
		}
		spent = spent.add(processUsage(b).sub(r0))
	}
	b.ReportMetric(float64(spent.cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(spent.cpu.Nanoseconds())/float64(b.N*rounds*20_000), "cpu-ns/entry")
	b.ReportMetric(float64(spent.minflt)/float64(b.N), "minflt/op")
}

// BenchmarkStart20kLog20k is a restart after BenchmarkCompact20k's log
// (Open and Load: the snapshot and the log read, checked and replayed);
// BenchmarkStart20kLog40k after a log twice as long.
func BenchmarkStart20kLog20k(b *testing.B) { benchStart(b, 1) }
func BenchmarkStart20kLog40k(b *testing.B) { benchStart(b, 2) }

func benchStart(b *testing.B, rounds int) {
	dir := b.TempDir()
	s, err := Open(dir, withCompactMin(1<<30))
	require.NoError(b, err)
	fill20k(b, s, 1)
	require.NoError(b, s.compact())
	for r := range rounds {
		fill20k(b, s, uint16(2+r))
	}
	require.NoError(b, s.Close())
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(dir, withCompactMin(1<<30))
		if err != nil {
			b.Fatal(err)
		}
		recs, err := s.Load()
		if err != nil || len(recs) != 20_000 {
			b.Fatal(err, len(recs))
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// rusage is the part of the process's resource usage a compaction moves:
// user and system CPU (GC and the kernel's writes and fsyncs included),
// and minor page faults (a mapping's pages touched for the first time).
type rusage struct {
	cpu    time.Duration
	minflt int64
}

func (r rusage) add(o rusage) rusage { return rusage{r.cpu + o.cpu, r.minflt + o.minflt} }
func (r rusage) sub(o rusage) rusage { return rusage{r.cpu - o.cpu, r.minflt - o.minflt} }

func processUsage(b *testing.B) rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return rusage{time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Minflt}
}

// fill20k saves the records bench-0..bench-19999 at step, 1 000 a Save.
func fill20k(tb testing.TB, s *Store, step uint16) {
	batch := make([]registry.Record, 1000)
	for lo := 0; lo < 20_000; lo += len(batch) {
		for i := range batch {
			batch[i] = rec(fmt.Sprintf("bench-%d", lo+i), step)
		}
		require.NoError(tb, s.Save(batch, nil))
	}
}
