package logstore

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// BenchmarkCompact20k is a compaction as the harness's 19 000 clients
// cause it: a snapshot of 20 000 records and a log of 20 000 changes of
// them, merged into a new snapshot, fsync and rename included.
func BenchmarkCompact20k(b *testing.B) {
	s, err := Open(b.TempDir(), withCompactMin(1<<30))
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	fill := func(step uint16) { fill20k(b, s, step) }
	fill(1)
	require.NoError(b, s.compact())
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		fill(2)
		b.StartTimer()
		if err := s.compact(); err != nil {
			b.Fatal(err)
		}
	}
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
