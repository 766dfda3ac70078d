package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withProbes gives r a probe phase of p99 phase ms and its hold rounds
// probe windows of n samples each, round i's p99 rounds[i] ms.
func withProbes(r *Result, phase float64, n int64, rounds ...float64) *Result {
	r.ProbeRTT = Percentiles{Count: 9000, P99: phase}
	for i, v := range rounds {
		r.HoldRounds[i].ProbeRTT = &Percentiles{Count: n, P99: v}
	}
	return r
}

const probeGoal = "With the event log and a webhook on: keep-alive RTT p99 (probe method) within 10% of off"

func probeTarget(t *testing.T, on, off *Result) Target {
	t.Helper()
	return targetNamed(t, variantTargets("With the event log and a webhook on", KindCliserEvents, on, off, nil), probeGoal)
}

// The probe method's target is judged on the median of the hold rounds'
// probe windows' ratios, not on the probe phase's one ratio, and says so
// with the rounds' medians and the probe phase's figures beside it.
func TestProbeTargetJudgesTheMedianOfTheRoundsRatios(t *testing.T) {
	for _, tc := range []struct {
		name             string
		phaseOn, phaseOf float64
		on, off          []float64
		reached, note    string
	}{
		{"a spoilt round and a spoilt probe phase: the median meets", 20, 9, []float64{1, 1, 1, 4}, []float64{1, 1, 1, 1}, "yes",
			"+0.0%: median of 4 hold rounds' probe windows' ratios, 1.00–4.00×; the probe phase's 2.22×; the rounds' median p99: on 1.000 ms, off 1.000 ms (600–600 samples a round); the probe phase: on 20.000 ms, off 9.000 ms"},
		{"a lucky probe phase: the median misses", 9, 9, []float64{1.4, 1.4, 1.4, 0.1}, []float64{1, 1, 1, 1}, "no",
			"+40.0%: median of 4 hold rounds' probe windows' ratios, 0.10–1.40×; the probe phase's 1.00×"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			on := withProbes(holdResult(KindCliserEvents, 10, 10, 10, 10, 10), tc.phaseOn, 600, tc.on...)
			off := withProbes(holdResult(KindCliser, 10, 10, 10, 10, 10), tc.phaseOf, 600, tc.off...)
			tg := probeTarget(t, on, off)
			assert.Equal(t, tc.reached, tg.Reached, tg.Figures)
			assert.Contains(t, tg.Figures, tc.note)
		})
	}
}

// Eight rounds give the median a 95% interval (order statistics), which
// the figures show as the server-clock RTT's do.
func TestProbeTargetGivesTheMediansInterval(t *testing.T) {
	rounds := []float64{1, 1, 1, 1, 1, 1, 1, 1}
	on := withProbes(holdResult(KindCliserEvents, 10, rounds...), 1, 600, 0.9, 1.0, 1.05, 1.1, 1.2, 1.3, 1.5, 3)
	off := withProbes(holdResult(KindCliser, 10, rounds...), 1, 600, rounds...)
	tg := probeTarget(t, on, off)
	assert.Equal(t, "no", tg.Reached, tg.Figures)
	assert.Contains(t, tg.Figures, "+15.0%: median of 8 hold rounds' probe windows' ratios, 95% interval 0.90–3.00×, range 0.90–3.00×")
}

// Without the rounds' probe windows (an older report, --hold-round-probes
// 0, or rounds of too few samples for a p99) the probe phase is judged,
// and the figures say so; a round below the fewest samples is left out.
func TestProbeTargetWithoutRoundsJudgesTheProbePhase(t *testing.T) {
	on, off := holdResult(KindCliserEvents, 10, 10, 10), holdResult(KindCliser, 10, 10, 10)
	on.ProbeRTT, off.ProbeRTT = Percentiles{Count: 9000, P99: 12}, Percentiles{Count: 9000, P99: 10}
	tg := probeTarget(t, on, off)
	assert.Equal(t, "no", tg.Reached)
	assert.Equal(t, "+20.0%: the probe phase: on 12.000 ms, off 10.000 ms", tg.Figures)

	on, off = withProbes(on, 12, minRoundProbes-1, 1, 1), withProbes(off, 10, minRoundProbes-1, 1, 1)
	tg = probeTarget(t, on, off)
	assert.Equal(t, "+20.0%: the probe phase: on 12.000 ms, off 10.000 ms", tg.Figures, "rounds of 99 samples: their p99 is their maximum")

	on.HoldRounds[1].ProbeRTT.Count = minRoundProbes
	off.HoldRounds[1].ProbeRTT.Count = minRoundProbes
	tg = probeTarget(t, on, off)
	assert.Equal(t, "yes", tg.Reached)
	assert.Contains(t, tg.Figures, "median of 1 hold rounds' probe windows' ratios", "the round of 100 samples read, the other left out")
}

// The hold rounds' table gives each round's probe p99 and samples, each
// round's probe ratio, their median and the probe phase's ratio.
func TestHoldRoundsTableHasTheProbeWindows(t *testing.T) {
	off := withProbes(holdResult(KindCliser, 10, 10, 12, 11), 8, 600, 2, 2, 2)
	on := withProbes(holdResult(KindCliserEvents, 12, 11, 12, 14), 16, 610, 2.2, 1.8, 3)
	rep := &Report{Settings: Full(), Results: map[string]*Result{KindCliser: off, KindCliserEvents: on, KindFloor: holdResult(KindFloor, 8, 8, 10, 10)},
		HoldOrder: roundOrders([]string{KindCliser, KindCliserEvents, KindFloor}, 3)}
	md := sectionOf(t, rep, (*Report).holdRoundsMarkdown, "## Hold rounds, interleaved")
	hasLines(t, md,
		"Probe: the probe method's p99 (its samples), 300 probes over 2s after the hold, cliser and its variants only; a round of fewer than 100 samples is not read.",
		"| 2 | cliser+events | 12.0% | 6.3 µs | 19000 | 12.000 ms | 12.000 ms | 1.800 ms (610) | 0.0% | 0.0% / 0.0% |\n",
		"| 2 | floor | 10.0% | 5.3 µs | 19000 | 10.000 ms | 10.000 ms | – | 0.0% | 0.0% / 0.0% |\n",
		"| round | cliser ÷ floor, CPU | cliser+events ÷ cliser, CPU | cliser+events ÷ cliser, RTT p99 | cliser+events ÷ cliser, RTT p999 | cliser+events ÷ cliser, probe p99 |\n",
		"| 1 | 1.25× | 1.10× | 1.10× | 1.10× | 1.10× |\n",
		"| median (range) | **1.20×** (1.10–1.25×) | **1.10×** (1.00–1.27×) | **1.10×** (1.00–1.27×) | **1.10×** (1.00–1.27×) | **1.10×** (0.90–1.50×) |\n",
		"| the stage hold (probe: the probe phase) | 1.25× | 1.20× | 1.20× | 1.20× | 2.00× |\n",
	)
}

// Only cliser and the variants judged against it probe in their rounds:
// no target reads the floor's or the baseline's probe ratio.
func TestRoundProbesDue(t *testing.T) {
	set := tiny()
	set.HoldRounds, set.RoundProbeHold = 2, time.Second
	probes := func(kind string, set Settings) int { return (&runner{kind: kind, set: set}).roundProbes() }
	for _, k := range []string{KindCliser, KindCliserEvents, KindCliserTrust} {
		assert.Equal(t, set.Probes, probes(k, set), k)
	}
	assert.Zero(t, probes(KindFloor, set))
	assert.Zero(t, probes(KindBaseline, set))
	set.RoundProbeHold = 0
	assert.Zero(t, probes(KindCliser, set))
	set.RoundProbeHold, set.Probes = time.Second, 0
	assert.Zero(t, probes(KindCliser, set))
	require.True(t, probeJudged(KindCliserTrust))
}
