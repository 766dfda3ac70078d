package harness

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The hold targets (idle CPU within 10% of off and ≤ 1.3× the floor's,
// keep-alive RTT within 10% of off) are judged, when the run held rounds,
// on the median over rounds of round r's ratio, the range and the stage
// hold's ratio beside it; as the burst CPU targets are (burst_rounds.go).

// holdMeasure is the figure of a hold round a ratio compares.
type holdMeasure func(HoldRound) float64

func holdCPU(h HoldRound) float64 { return h.Idle.CPUPercent }

// holdRTT is a round's server-clock RTT read as ratios read it
// (Percentiles.ForRatio) at q; NaN for a server that keeps none.
func holdRTT(q func(Percentiles) float64) holdMeasure {
	return func(h HoldRound) float64 {
		if h.ServerRTT == nil || h.ServerRTT.Count == 0 {
			return math.NaN()
		}
		return q(h.ServerRTT.ForRatio())
	}
}

func p99Of(p Percentiles) float64  { return p.P99 }
func p999Of(p Percentiles) float64 { return p.P999 }

// holdRoundOf is r's hold round round (from 1).
func holdRoundOf(r *Result, round int) (HoldRound, bool) {
	i := slices.IndexFunc(r.HoldRounds, func(h HoldRound) bool { return h.Round == round })
	if i < 0 {
		return HoldRound{}, false
	}
	return r.HoldRounds[i], true
}

// holdAt is f of r's round round, NaN if it held none.
func holdAt(r *Result, round int, f holdMeasure) float64 {
	return atRound(r.HoldRounds, round, holdNumber, f)
}

func holdNumber(h HoldRound) int { return h.Round }

// holdRoundRatios is f of a's round ÷ f of b's for each round both held,
// paired by round number.
func holdRoundRatios(a, b *Result, f holdMeasure) []float64 {
	return pairedRatios(a.HoldRounds, b.HoldRounds, holdNumber, f)
}

// holdRatio is a ÷ b as the hold targets judge it: the median of the hold
// rounds' ratios when both held rounds, with note saying so, their range
// and the stage hold's ratio (stage); else stage, note empty.
func holdRatio(a, b *Result, f holdMeasure, stage float64) (float64, string) {
	return medianOr(holdRoundRatios(a, b, f), "hold rounds'", stage, "the stage hold's")
}

// medianOr is the median of ratios, with a note of their number (what),
// range and other (the figure it stands for, named); other and no note
// when there are none.
func medianOr(ratios []float64, what string, other float64, otherName string) (float64, string) {
	s, ok := spreadOf(ratios)
	if !ok {
		return other, ""
	}
	if math.IsNaN(s.lo) {
		return s.median, fmt.Sprintf("median of %d %s ratios, %.2f–%.2f×; %s %.2f×", s.n, what, s.min, s.max, otherName, other)
	}
	return s.median, fmt.Sprintf("median of %d %s ratios, 95%% interval %s, range %.2f–%.2f×; %s %.2f×", s.n, what, s.interval(), s.min, s.max, otherName, other)
}

// holdColumn is one ratio of the hold rounds' table.
type holdColumn struct {
	name  string
	a, b  string
	f     holdMeasure
	stage func(*Result) float64
}

func stageCPU(r *Result) float64 { return r.Idle.CPUPercent }

func stageRTT(q func(Percentiles) float64) func(*Result) float64 {
	return func(r *Result) float64 { return serverRTTOf(r, func(p Percentiles) float64 { return q(p.ForRatio()) }) }
}

// measured says whether h has the column's figure (a round without a
// probe window has no probe p99).
func (c holdColumn) measured(h HoldRound) bool { return !math.IsNaN(c.f(h)) }

func probePhaseP99(r *Result) float64 { return r.ProbeRTT.P99 }

// holdColumns are the ratios the hold targets judge, in the table's order.
var holdColumns = func() []holdColumn {
	out := []holdColumn{{"cliser ÷ floor, CPU", KindCliser, KindFloor, holdCPU, stageCPU}}
	for _, v := range variantsJudged {
		out = append(out,
			holdColumn{v.kind + " ÷ cliser, CPU", v.kind, KindCliser, holdCPU, stageCPU},
			holdColumn{v.kind + " ÷ cliser, RTT p99", v.kind, KindCliser, holdRTT(p99Of), stageRTT(p99Of)},
			holdColumn{v.kind + " ÷ cliser, RTT p999", v.kind, KindCliser, holdRTT(p999Of), stageRTT(p999Of)},
			holdColumn{v.kind + " ÷ cliser, probe p99", v.kind, KindCliser, holdProbe(p99Of), probePhaseP99})
	}
	return out
}()

// holdRoundsMarkdown writes each hold round's figures of every server that
// held it, each round's ratios, their medians and ranges (what the hold
// targets are judged on) and the stage hold's ratios.
func (rep *Report) holdRoundsMarkdown(b *bytes.Buffer) {
	if len(rep.HoldOrder) == 0 {
		return
	}
	b.WriteString("\n## Hold rounds, interleaved\n\nAfter the burst rounds each server held the top stage's clients again in rounds, seconds apart, the order rotated a server every two rounds and reversed every other round;" +
		" the idle CPU and keep-alive RTT targets are judged on the median of the rounds' ratios. RTT: server clock, " + rttReading + ".")
	if rep.Settings.RoundProbeHold > 0 {
		fmt.Fprintf(b, " Probe: the probe method's p99 (its samples), %d probes over %s after the hold, cliser and its variants only; a round of fewer than %d samples is not read.", rep.Settings.Probes, rep.Settings.RoundProbeHold, minRoundProbes)
	}
	b.WriteString("\n\n| round | server | idle CPU | CPU per keep-alive | keep-alives/s | RTT p99 | RTT p999 | probe p99 | load CPU | runqueue wait, server / load |\n|" + strings.Repeat(" --- |", 10) + "\n")
	for i, order := range rep.HoldOrder {
		for _, k := range order {
			if h, ok := holdRoundOf(rep.Results[k], i+1); ok {
				holdRoundRow(b, i+1, k, h)
			}
		}
	}
	var cols []holdColumn
	for _, c := range holdColumns {
		if rep.Results[c.a] != nil && rep.Results[c.b] != nil && slices.ContainsFunc(rep.Results[c.a].HoldRounds, c.measured) {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		return
	}
	b.WriteString("\nEach round's ratios:\n\n| round |")
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", c.name)
	}
	b.WriteString("\n|" + strings.Repeat(" --- |", 1+len(cols)) + "\n")
	for i := range rep.HoldOrder {
		fmt.Fprintf(b, "| %d |", i+1)
		for _, c := range cols {
			fmt.Fprintf(b, " %s |", ratio(holdAt(rep.Results[c.a], i+1, c.f), holdAt(rep.Results[c.b], i+1, c.f)))
		}
		b.WriteString("\n")
	}
	b.WriteString("| median (range) |")
	for _, c := range cols {
		if s, ok := spreadOf(holdRoundRatios(rep.Results[c.a], rep.Results[c.b], c.f)); ok {
			fmt.Fprintf(b, " **%.2f×** (%.2f–%.2f×) |", s.median, s.min, s.max)
		} else {
			b.WriteString(" – |")
		}
	}
	b.WriteString("\n| the stage hold (probe: the probe phase) |")
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", ratio(c.stage(rep.Results[c.a]), c.stage(rep.Results[c.b])))
	}
	b.WriteString("\n")
}

// holdRoundRow is server k's row of round.
func holdRoundRow(b *bytes.Buffer, round int, k string, h HoldRound) {
	probe := "–"
	if h.ProbeRTT != nil {
		probe = fmt.Sprintf("%s (%d)", num(h.ProbeRTT.P99, "ms"), h.ProbeRTT.Count)
	}
	fmt.Fprintf(b, "| %d | %s | %s | %s | %.0f | %s | %s | %s | %s | %s / %s |\n", round, k, num(h.Idle.CPUPercent, "%"), num(h.Idle.cpuPerKeepAlive(), "µs"),
		float64(h.Idle.KeepAlives)/h.Idle.Seconds, num(holdRTT(p99Of)(h), "ms"), num(holdRTT(p999Of)(h), "ms"), probe,
		num(h.Idle.LoadCPUPercent, "%"), num(h.Idle.ServerWaitPercent, "%"), num(h.Idle.LoadWaitPercent, "%"))
}
