package harness

import (
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/prom"
	"github.com/cliser/cliser/internal/testkit"
)

// bucketed is ds counted over the keep-alive bounds, each scaled by k, as
// /metrics would give it.
func bucketed(ds []time.Duration, k float64) *promHistogram {
	le := append(append([]float64(nil), prom.KeepAliveRTTBuckets...), math.Inf(1))
	h := &promHistogram{Le: le, Cum: make([]float64, len(le)), Count: float64(len(ds))}
	for _, d := range ds {
		s := d.Seconds() * k
		h.Sum += s
		h.Cum[sort.SearchFloat64s(le, s)]++
	}
	for i := 1; i < len(h.Cum); i++ {
		h.Cum[i] += h.Cum[i-1]
	}
	return h
}

// A hold's 190,000 echoes in, its tail out: the bound of its bucket (at or
// above the exact value, within a step) and the interpolation (nearer).
func TestBucketedRTTReadAtTheNewResolution(t *testing.T) {
	ds := testkit.KeepAliveRTTs(190000)
	exact := make([]float64, len(ds))
	for i, d := range ds {
		exact[i] = float64(d) / 1e6
	}
	sort.Float64s(exact)
	p := percentilesOfBuckets(bucketed(ds, 1))
	require.True(t, p.UpperBound)
	require.NotNil(t, p.Interpolated)
	for _, c := range []struct {
		q          float64
		ub, within float64
	}{{0.99, p.P99, p.Interpolated.P99}, {0.999, p.P999, p.Interpolated.P999}} {
		x := exact[int(math.Ceil(c.q*float64(len(exact))))-1]
		assert.GreaterOrEqual(t, c.ub, x, "q %v: the bound is at or above", c.q)
		assert.LessOrEqual(t, c.ub/x, prom.RTTStep, "q %v: within a step", c.q)
		assert.InEpsilon(t, x, c.within, 0.01, "q %v: interpolated within 1%%", c.q)
	}
	assert.Equal(t, *p.Interpolated, p.ForRatio())
	exactP := Percentiles{P99: 1}
	assert.Equal(t, exactP, exactP.ForRatio(), "an exact reading is its own")
}

// The variants' within-10% RTT judgement resolves 10%: tails 6% and 14%
// above off's read as such (interpolated on both), where the bounds alone
// could read either as one step of 4.7–6.0% or two.
func TestVariantRTTJudgedAtTenPercent(t *testing.T) {
	ds := testkit.KeepAliveRTTs(190000)
	off := &Result{ServerRTT: ptr(percentilesOfBuckets(bucketed(ds, 1)))}
	for _, c := range []struct {
		k       float64
		reached string
	}{{1.06, "yes"}, {1.14, "no"}} {
		on := &Result{ServerRTT: ptr(percentilesOfBuckets(bucketed(ds, c.k)))}
		var judged int
		for _, tg := range variantTargets("On", KindCliserEvents, on, off, nil) {
			if tg.Goal == "On: keep-alive RTT p99 (server clock, "+rttReading+") within 10% of off" ||
				tg.Goal == "On: keep-alive RTT p999 (server clock, "+rttReading+") within 10% of off" {
				judged++
				assert.Equal(t, c.reached, tg.Reached, "×%v: %s", c.k, tg.Figures)
				assert.NotContains(t, tg.Figures, "coarse", "4–8 ms is in the fine range")
			}
		}
		assert.Equal(t, 2, judged)
		r99 := on.ServerRTT.ForRatio().P99 / off.ServerRTT.ForRatio().P99
		assert.InDelta(t, c.k, r99, 0.01, "p99 ratio read")
	}
}

func ptr[T any](v T) *T { return &v }

// A tail past the fine bounds is compared too, and said to be coarse.
func TestVariantRTTPastTheFineBoundsSaysCoarse(t *testing.T) {
	ds := testkit.KeepAliveRTTs(190000)
	off := &Result{ServerRTT: ptr(percentilesOfBuckets(bucketed(ds, 100)))}
	on := &Result{ServerRTT: ptr(percentilesOfBuckets(bucketed(ds, 106)))}
	var said int
	for _, tg := range variantTargets("On", KindCliserEvents, on, off, nil) {
		if strings.Contains(tg.Goal, "server clock") {
			said++
			assert.Contains(t, tg.Figures, "outside 0.5–30 ms the buckets are coarse", tg.Goal)
		}
	}
	assert.Equal(t, 2, said)
}
