package admin_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// The RTT histogram can judge issue 17's targets: 2 ms and 10 ms are
// bounds of their own, so an echo just under and one just over each lands
// in different buckets (with the old 2.5 ms and 25 ms bounds they did not),
// and the next bound is within 6% (prom.RTTStep).
func TestKeepAliveRTTBucketsJudgeTheTargets(t *testing.T) {
	t.Parallel()
	m := admin.NewMetrics(registry.New())
	for _, ms := range []float64{1.9, 2.1, 9.9, 10.1} {
		m.KeepAliveRTT(time.Duration(ms * float64(time.Millisecond)))
	}
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	cum := map[float64]uint64{}
	for _, f := range fams {
		if f.GetName() == admin.MetricKeepAliveRTT {
			for _, b := range f.GetMetric()[0].GetHistogram().GetBucket() {
				cum[b.GetUpperBound()] = b.GetCumulativeCount()
			}
		}
	}
	require.NotEmpty(t, cum)
	assert.EqualValues(t, 1, cum[0.002], "1.9 ms at or below 2 ms, 2.1 ms above")
	assert.EqualValues(t, 3, cum[0.01], "9.9 ms at or below 10 ms, 10.1 ms above")
	assert.EqualValues(t, 4, cum[0.0106], "10.1 ms in the next bucket, to 10.6 ms")
}

// BenchmarkKeepAliveRTT is the metrics' cost of one echo, over the
// bounds' search (the loops run it once a keep-alive).
func BenchmarkKeepAliveRTT(b *testing.B) {
	m := admin.NewMetrics(registry.New())
	ds := testkit.KeepAliveRTTs(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.KeepAliveRTT(ds[i&1023])
	}
}
