package harness

import (
	"fmt"

	"github.com/cliser/cliser/internal/prom"
)

// A bucketed server-clock RTT (cliser's /metrics, the floor's copy) is read
// two ways: at its bucket's bound for the absolute targets (2 ms and 10 ms
// are bounds, so "≤ 2 ms" is exact), and interpolated inside the bucket
// when two servers are set side by side (Percentiles.ForRatio): on
// simulated holds of 190,000 echoes a ratio of bounds erred by 2–2.5%
// (rms) and one of interpolations by 0.2–0.7%, on both servers alike
// (docs/performance-journal.md, "Session 14: the keep-alive RTT's
// resolution").

// rttReading names the comparisons' reading in the report.
const rttReading = "interpolated in its bucket"

// RTTReadingNote says in a report how a bucketed RTT is read.
func RTTReadingNote() string {
	return fmt.Sprintf("Bucketed RTT: the bounds are at most %.0f%% apart from %g to %g ms, 2 ms and 10 ms among them, and up to 2.5× apart outside;"+
		" a within-10%% comparison reads both servers %s (Prometheus' histogram_quantile rule), the absolute targets read the bound.",
		100*(prom.RTTStep-1), prom.RTTFineFrom*1000, prom.RTTFineTo*1000, rttReading)
}

// rttCoarse says when a comparison of two RTTs (ms) is not at the fine
// bounds' resolution: either lies outside their range.
func rttCoarse(a, b float64) string {
	out := func(v float64) bool { return v < prom.RTTFineFrom*1000 || v > prom.RTTFineTo*1000 }
	if out(a) || out(b) {
		return fmt.Sprintf("; outside %g–%g ms the buckets are coarse, so is this ratio", prom.RTTFineFrom*1000, prom.RTTFineTo*1000)
	}
	return ""
}
