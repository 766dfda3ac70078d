package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// cliser serve's allocations over a burst of 1,000 handshakes, read off its
// /metrics: counted over the burst's handshakes, and within what a
// handshake allocates (gnet's conn alone is ~500 B; session 11 measured
// ~1,000 B in all) plus the one scrape the window holds. The hold's are
// counted too, per keep-alive answered in it.
func TestBurstCountsTheServersAllocations(t *testing.T) {
	s := tiny()
	s.Stages, s.Probes, s.ProbeHold = []int{20}, 0, 0
	s.KeepAlive = time.Second
	s.Burst, s.BurstRounds = 1000, 1
	s.Hold = 1500 * time.Millisecond // 20 clients' keep-alives, at least one round
	res, err := Run(runCtx(t), KindCliser, s, Env{WorkDir: t.TempDir(), CliserBin: testkit.Binary(t)})
	require.NoError(t, err)
	require.NotNil(t, res.Burst.Alloc, "cliser serves the Go collector")
	a := res.Burst.Alloc
	t.Logf("burst: %.0f B and %.2f GC cycles a 1,000 handshakes", a.BytesPerHandshake, a.GCPer1000)
	assert.EqualValues(t, 1000, a.Handshakes)
	assert.InDelta(t, a.Bytes/1000, a.BytesPerHandshake, 1e-9)
	assert.Greater(t, a.BytesPerHandshake, 400.0, "less than gnet's own conn a handshake: not the burst's allocations")
	assert.Less(t, a.BytesPerHandshake, 10_000.0)
	assert.GreaterOrEqual(t, a.GCCycles, 0.0)
	assert.InDelta(t, 1000*a.GCCycles/1000, a.GCPer1000, 1e-9)
	require.NotNil(t, res.RampAlloc)
	assert.EqualValues(t, 20, res.RampAlloc.Handshakes)
	assert.Positive(t, res.RampAlloc.Bytes)
	t.Logf("stages: %.0f B in all", res.RampAlloc.Bytes)
	h := res.Idle.Alloc
	require.NotNil(t, h, "the hold's count")
	require.Positive(t, res.Idle.KeepAlives)
	t.Logf("hold: %.0f B, %.0f GC cycles, %d keep-alives", h.Bytes, h.GCCycles, res.Idle.KeepAlives)
	assert.Positive(t, h.Bytes, "the window holds a scrape at least")
	assert.Less(t, h.Bytes, 5e6, "20 idle clients' hold")
	assert.InDelta(t, h.Bytes/float64(res.Idle.KeepAlives), h.BytesPerKeepAlive, 1e-9)
	assert.GreaterOrEqual(t, h.GCCycles, 0.0)
}
