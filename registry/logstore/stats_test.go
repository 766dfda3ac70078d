package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// The counts say what was written: the log file's growth in bytes, one
// fdatasync a Save, and a compaction with the records its snapshot holds.
func TestStatsCountWhatWasWritten(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, withCompactMin(100))
	var put []registry.Record
	for i := range 60 {
		put = append(put, rec(fmt.Sprintf("c-%d", i), 1))
	}
	require.NoError(t, s.Save(put, []string{"gone-1"}))
	fi, err := os.Stat(filepath.Join(dir, LogName))
	require.NoError(t, err)
	require.Equal(t, Stats{Saves: 1, Entries: 61, Bytes: uint64(fi.Size() - headerLen), Syncs: 1}, s.Stats())

	require.NoError(t, s.Save(put, nil)) // 121 entries: a compaction is due, and this Save is quiet
	require.NoError(t, s.Save(put[:1], nil))
	st := s.Stats()
	require.Equal(t, uint64(1), st.Compactions)
	require.Equal(t, uint64(60), st.CompactedRecords)
	require.Equal(t, uint64(3), st.Saves)
	require.Equal(t, uint64(3), st.Syncs)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collectors()...)
	n, err := testutil.GatherAndCount(reg, MetricSaves, MetricEntries, MetricBytes, MetricSyncs, MetricCompactions, MetricCompactedRecords)
	require.NoError(t, err)
	require.Equal(t, 6, n)
	require.Equal(t, 1.0, testutil.ToFloat64(s.Collectors()[4]))
}
