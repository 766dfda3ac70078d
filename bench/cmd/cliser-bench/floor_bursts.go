package main

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/cliser/cliser/bench/harness"
)

// burstRoundsNote gives, for each round, each CPU ratio over the round's
// interleaved bursts as `compare` judges it: the median of the bursts'
// ratios, burst r of one server against burst r of the other, with its 95%
// interval (harness.MedianInterval) and range. The table above keeps the
// sums' ratio.
func burstRoundsNote(all []roundResult) string {
	var b bytes.Buffer
	for round := 1; ; round++ {
		c, ok := find(all, round, harness.KindCliser)
		if !ok {
			break
		}
		for _, v := range variantRows {
			o, ok := find(all, round, v.kind)
			if !ok {
				continue
			}
			num, den := o.BurstRoundsUS, c.BurstRoundsUS
			if v.kind == harness.KindFloor {
				num, den = den, num
			}
			ratios := pairedByBurst(num, den)
			if len(ratios) == 0 {
				continue
			}
			lo, hi := harness.MedianInterval(ratios)
			interval := "–"
			if !math.IsNaN(lo) {
				interval = fmt.Sprintf("%.2f–%.2f×", lo, hi)
			}
			fmt.Fprintf(&b, "| %d | %s | %d | **%.2f×** | %s | %.2f–%.2f× |\n", round, v.label, len(ratios),
				harness.Median(ratios), interval, slices.Min(ratios), slices.Max(ratios))
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "\nCPU per handshake over each round's bursts as `compare` judges it: the median of the bursts' ratios (burst r of one server against burst r of the other, seconds apart), its 95% interval (order statistics; none under six bursts) and range:\n\n" +
		"| round | ratio | bursts | median | 95% interval | range |\n| --- | --- | --- | --- | --- | --- |\n" + b.String()
}

// pairedByBurst is a[i] ÷ b[i] for each burst both ran.
func pairedByBurst(a, b []float64) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		if a[i] > 0 && b[i] > 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}
