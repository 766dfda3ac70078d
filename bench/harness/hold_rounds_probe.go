package harness

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// The probe method's RTT p99 "within 10% of off" targets compared one
// probe phase a server, minutes apart, and its ratio swung 0.87–2.24× over
// sessions 17–21 (the identity variant's 0.53–2.59×). So each hold round
// of cliser and of the judged variants ends with a probe window: after the
// hold has been measured (the probes' reconnects, ~Probes handshakes a
// second, would count in its idle CPU and keep-alives), the round's fleet
// probes for RoundProbeHold with its first Probes clients, as the probe
// phase does; and the targets are judged on the median over rounds of
// round r's ratio, as the server-clock RTT's are. A probe measures about
// once a keep-alive interval, so a window gives ~Probes × RoundProbeHold ÷
// interval samples (full: 300 × 2 s ≈ 600; quick: 100 × 2 s ≈ 200).

// minRoundProbes is the fewest samples whose p99 a round's ratio reads:
// below 100 the p99 is the maximum.
const minRoundProbes = 100

// probeJudged says whether a probe-method ratio target reads kind's
// figures: cliser's and the variants judged against it. The floor and the
// baseline have none, so their rounds skip the window.
func probeJudged(kind string) bool {
	return kind == KindCliser || slices.ContainsFunc(variantsJudged, func(v struct{ kind, with string }) bool { return v.kind == kind })
}

// roundProbes is how many of a hold round's clients probe: Probes when the
// round has a probe window, else none.
func (r *runner) roundProbes() int {
	if r.set.Probes <= 0 || r.set.RoundProbeHold <= 0 || !probeJudged(r.kind) {
		return 0
	}
	return r.set.Probes
}

// roundProbeWindow runs the round's probe window on fl (top clients): its
// round trips (nil when the round has none) and their phases.
func (r *runner) roundProbeWindow(ctx context.Context, fl fleet, top int) (*Percentiles, []int64, error) {
	if r.roundProbes() == 0 {
		return nil, nil, nil
	}
	t0 := time.Now()
	p, phases, err := r.probeWindow(ctx, fl, r.set.RoundProbeHold, int64(top), sleepCtx, "hold round's probes")
	// What the window adds to the run: its hold and the probes' settling.
	r.say("hold round's probes: %s, %d samples%s", time.Since(t0).Round(time.Millisecond), p.Count, phaseText(phases, r.set.KeepAlive))
	return &p, phases, err
}

// probeText is a round's probe-method RTT for the progress line.
func probeText(p *Percentiles) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("; probe method p99 %.3fms (%d samples)", p.P99, p.Count)
}

// holdProbe is a round's probe-method RTT at q; NaN for a round without a
// window or with fewer than minRoundProbes samples.
func holdProbe(q func(Percentiles) float64) holdMeasure {
	return func(h HoldRound) float64 {
		if h.ProbeRTT == nil || h.ProbeRTT.Count < minRoundProbes {
			return math.NaN()
		}
		return q(*h.ProbeRTT)
	}
}

// probeRatio is on's probe-method RTT p99 ÷ off's as its target judges it:
// the median of the hold rounds' ratios when both have rounds with probe
// windows, else the probe phase's; the figures say which.
func probeRatio(on, off *Result) (float64, string) {
	phase := fmt.Sprintf("the probe phase: on %s, off %s", num(on.ProbeRTT.P99, "ms"), num(off.ProbeRTT.P99, "ms"))
	f := holdProbe(p99Of)
	v, held := medianOr(holdRoundRatios(on, off, f), "hold rounds' probe windows'", ratioOf(on.ProbeRTT.P99, off.ProbeRTT.P99), "the probe phase's")
	if held == "" {
		return v, phase
	}
	return v, fmt.Sprintf("%s; the rounds' median p99: on %s, off %s (%s samples a round); %s", held,
		num(probeMedian(on, f), "ms"), num(probeMedian(off, f), "ms"), samplesRange(on, off), phase)
}

// probeMedian is the median over r's rounds of f, the rounds without it
// left out.
func probeMedian(r *Result, f holdMeasure) float64 {
	var v []float64
	for _, h := range r.HoldRounds {
		if x := f(h); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	return Median(v)
}

// samplesRange is the fewest and most probe samples a round of on or off
// gave.
func samplesRange(on, off *Result) string {
	var n []int64
	for _, h := range append(slices.Clone(on.HoldRounds), off.HoldRounds...) {
		if h.ProbeRTT != nil {
			n = append(n, h.ProbeRTT.Count)
		}
	}
	if len(n) == 0 {
		return "no"
	}
	return fmt.Sprintf("%d–%d", slices.Min(n), slices.Max(n))
}
