package harness

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The burst CPU targets compare two servers' CPU a handshake. Their totals
// are sums over bursts that, run a server at a time, were minutes apart;
// interleaved (RunInterleaved), round r of each server ran seconds from
// the other servers' round r. So each target is judged on the median over
// rounds of round r's ratio, and the rounds' range is shown beside it; the
// ratio of the sums stays in the figures.

// burstRatio is a ratio of two servers' burst CPU a handshake: A's ÷ B's.
type burstRatio struct {
	name string
	a, b string
}

// burstRatios are the ratios the burst CPU targets judge, in the table's
// order. The baseline's is inverted: cliser's handshakes per CPU second
// over the baseline's is the baseline's CPU a handshake over cliser's.
var burstRatios = []burstRatio{
	{"cliser ÷ floor", KindCliser, KindFloor},
	{"cliser+events ÷ cliser", KindCliserEvents, KindCliser},
	{"cliser+identity+events ÷ cliser", KindCliserTrust, KindCliser},
	{"baseline ÷ cliser", KindBaseline, KindCliser},
}

// cpuUS is the round's server CPU a handshake in µs.
func (b BurstRound) cpuUS() float64 { return perHandshake(b.ServerCPU, b.Handshakes) }

// spread is a median over rounds, a 95% interval for it (lo, hi: NaN
// with fewer than six rounds) and the rounds' range.
type spread struct {
	median, lo, hi, min, max float64
	n                        int
}

func spreadOf(v []float64) (spread, bool) {
	if len(v) == 0 {
		return spread{}, false
	}
	lo, hi := MedianInterval(v)
	return spread{median: Median(v), lo: lo, hi: hi, min: slices.Min(v), max: slices.Max(v), n: len(v)}, true
}

// MedianInterval is a 95% confidence interval for the median of what v's
// rounds are drawn from, assuming no more than that they are independent:
// the k-th smallest and the k-th largest of v, k the largest for which
// the median falls outside them with a probability of at most 5%, which
// is twice P(Binomial(n, ½) < k) (order statistics). Unlike a bootstrap it
// needs no random numbers, so a report reads the same twice. NaN, NaN
// for fewer than six rounds: even the range covers less than 95%.
func MedianInterval(v []float64) (lo, hi float64) {
	n := len(v)
	k, below := 0, 0.0 // below: P(Binomial(n, ½) < k+1)
	for p := math.Pow(0.5, float64(n)); k < n/2; k++ {
		if below+p > 0.025 {
			break
		}
		below += p
		p *= float64(n-k) / float64(k+1)
	}
	if k == 0 {
		return math.NaN(), math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[k-1], v[n-k]
}

// interval is the 95% interval as the report prints it, "–" for none.
func (s spread) interval() string {
	if math.IsNaN(s.lo) {
		return "–"
	}
	return fmt.Sprintf("%.2f–%.2f×", s.lo, s.hi)
}

// Median is the middle of v, or the mean of its two middle values when
// their number is even (the higher one alone biased two rounds upwards);
// NaN for none.
func Median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[n/2]
}

// roundRatios is a's CPU a handshake ÷ b's for each round both ran,
// paired by round number.
func roundRatios(a, b *Result) []float64 {
	return pairedRatios(a.Burst.Rounds, b.Burst.Rounds, burstNumber, BurstRound.cpuUS)
}

func burstNumber(b BurstRound) int { return b.Round }

// pairedRatios is value of a's round ÷ value of b's round of the same
// number, for each round both ran: the burst and the hold rounds alike.
func pairedRatios[T any](a, b []T, number func(T) int, value func(T) float64) []float64 {
	var out []float64
	for _, x := range a {
		if r := ratioOf(value(x), atRound(b, number(x), number, value)); !math.IsNaN(r) {
			out = append(out, r)
		}
	}
	return out
}

// atRound is value of the round numbered round in rounds, NaN if none.
func atRound[T any](rounds []T, round int, number func(T) int, value func(T) float64) float64 {
	i := slices.IndexFunc(rounds, func(x T) bool { return number(x) == round })
	if i < 0 {
		return math.NaN()
	}
	return value(rounds[i])
}

// ratioOf is a ÷ b, NaN unless both are positive numbers.
func ratioOf(a, b float64) float64 {
	if !(a > 0 && b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return math.NaN()
	}
	return a / b
}

// cpuRatio is a's CPU a handshake ÷ b's as the burst CPU targets judge
// it: the median of the rounds' ratios when both ran burst rounds, with
// note saying so, its range and the sums' ratio; else the ratio of the
// totals (handshakeCPU: the bursts', else the stages'), note empty.
func cpuRatio(a, b *Result) (ratio float64, note string) {
	ua, _ := handshakeCPU(a)
	ub, _ := handshakeCPU(b)
	return medianOr(roundRatios(a, b), "rounds'", ratioOf(ua, ub), "the sums'")
}

// burstRoundsMarkdown writes each burst round's CPU a handshake of every
// server that ran it, each round's ratios, and their medians and ranges:
// what the burst CPU targets are judged on.
func (rep *Report) burstRoundsMarkdown(b *bytes.Buffer) {
	kinds := rep.roundKinds()
	if len(kinds) == 0 {
		return
	}
	var ratios []burstRatio
	for _, r := range burstRatios {
		if slices.Contains(kinds, r.a) && slices.Contains(kinds, r.b) {
			ratios = append(ratios, r)
		}
	}
	if rep.BurstOrder != nil {
		b.WriteString("\n## Burst rounds, interleaved\n\nEach round bursts every server once, seconds apart, the order rotated a server every two rounds and reversed every other round (each pair of servers runs in both orders every two rounds); the burst CPU targets are judged on the median of the rounds' ratios, and the 95% interval beside it (order statistics, from six rounds) says how sure that median is. Server CPU a handshake (µs), its tail included:\n\n")
	} else {
		b.WriteString("\n## Burst rounds\n\nEach server's rounds ran in a row, after its own shutdown (not interleaved). Server CPU a handshake (µs), its tail included:\n\n")
	}
	fmt.Fprintf(b, "| round | order | %s |", strings.Join(kinds, " | "))
	for _, r := range ratios {
		fmt.Fprintf(b, " %s |", r.name)
	}
	b.WriteString("\n|" + strings.Repeat(" --- |", 2+len(kinds)+len(ratios)) + "\n")
	for i := range rep.roundCount(kinds) {
		order := "–"
		if i < len(rep.BurstOrder) {
			order = strings.Join(rep.BurstOrder[i], ", ")
		}
		fmt.Fprintf(b, "| %d | %s |", i+1, order)
		for _, k := range kinds {
			fmt.Fprintf(b, " %s |", num(roundCPU(rep.Results[k], i+1), "µs"))
		}
		for _, r := range ratios {
			fmt.Fprintf(b, " %s |", ratio(roundCPU(rep.Results[r.a], i+1), roundCPU(rep.Results[r.b], i+1)))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "| median (95%% interval; range) | |%s", strings.Repeat(" |", len(kinds)))
	for _, r := range ratios {
		if s, ok := spreadOf(roundRatios(rep.Results[r.a], rep.Results[r.b])); ok {
			fmt.Fprintf(b, " **%.2f×** (%s; %.2f–%.2f×) |", s.median, s.interval(), s.min, s.max)
		} else {
			b.WriteString(" – |")
		}
	}
	fmt.Fprintf(b, "\n| sums | |")
	for _, k := range kinds {
		us, _ := handshakeCPU(rep.Results[k])
		fmt.Fprintf(b, " %s |", num(us, "µs"))
	}
	for _, r := range ratios {
		ua, _ := handshakeCPU(rep.Results[r.a])
		ub, _ := handshakeCPU(rep.Results[r.b])
		fmt.Fprintf(b, " %s |", ratio(ua, ub))
	}
	b.WriteString("\n")
}

// roundKinds are the servers with burst rounds, in report order; with an
// interleaved order, only the servers it ran (the in-process server's
// rounds ran in a row of their own).
func (rep *Report) roundKinds() []string {
	var out []string
	for _, k := range rep.kinds() {
		if len(rep.Results[k].Burst.Rounds) == 0 {
			continue
		}
		if len(rep.BurstOrder) > 0 && !slices.Contains(rep.BurstOrder[0], k) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// roundCount is the most rounds any of kinds ran.
func (rep *Report) roundCount(kinds []string) int {
	n := 0
	for _, k := range kinds {
		n = max(n, len(rep.Results[k].Burst.Rounds))
	}
	return n
}

// roundCPU is r's CPU a handshake in round (from 1), NaN if it ran none.
func roundCPU(r *Result, round int) float64 {
	return atRound(r.Burst.Rounds, round, burstNumber, BurstRound.cpuUS)
}

// wrap is s between before and after, "" for an empty s.
func wrap(s, before, after string) string {
	if s == "" {
		return ""
	}
	return before + s + after
}
