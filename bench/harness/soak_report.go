package harness

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// WriteJSON writes the soak's result, samples included.
func (r *SoakResult) WriteJSON(w io.Writer) error { return WriteJSON(w, r) }

// Markdown writes the soak's report: the verdict, a start/end table, the
// churn done, errors by kind, and every sample.
func (r *SoakResult) Markdown(w io.Writer) error {
	var b bytes.Buffer
	r.verdictMarkdown(&b)
	r.flatnessTable(&b)
	r.churnMarkdown(&b)
	r.featuresChurn(&b)
	r.samplesTable(&b)
	r.featuresSamples(&b)
	_, err := w.Write(b.Bytes())
	return err
}

// verdictMarkdown writes the title, the soak's shape, the verdict and why,
// and how flatness is judged.
func (r *SoakResult) verdictMarkdown(b *bytes.Buffer) {
	s := r.Settings
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(b, "# cliser soak — %s\n\n", r.Started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(b, "`cliser-bench soak --clients %d --duration %s --churn-rate %.0f`: %d clients held "+
		"(%d in the churn pool), keep-alive every %s, churn for %s; samples every %s; server --retention %s. "+
		"Machine: %s, %d cores, %d GiB.\n\n",
		s.Clients, s.Duration, s.ChurnRate, s.Clients, s.Pool, s.Load.KeepAlive, s.Duration, s.SampleEvery, retentionStr(s.Retention),
		r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryGiB)
	r.featuresMarkdown(b)
	fmt.Fprintf(b, "**Verdict: %s** — flat: %v, clients lost: %d, unexpected errors: %d.\n\n",
		verdict, r.Verdict.Flat, r.Lost, sumErrors(r.Errors))
	for _, why := range r.Verdict.Reasons {
		fmt.Fprintf(b, "- not flat: %s\n", why)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(b, "- problem: %s\n", p)
	}
	lim := s.Limits
	fmt.Fprintf(b, "\nFlatness: the mean of the first quarter of the samples after the warm-up (the first %.0f%%) "+
		"against the mean of the last quarter (%d samples judged). Limits: anonymous RSS growth < %.0f%%, "+
		"goroutines growth < %.0f, open fds growth < %.0f.\n\n",
		100*lim.WarmupFraction, r.Verdict.Judged, 100*lim.RSSGrowth, lim.GoroutineSlack, lim.FDSlack)
	r.featuresRule(b)
}

// flatnessTable writes each figure's first and last judged quarter, and
// its value at the end.
func (r *SoakResult) flatnessTable(b *bytes.Buffer) {
	v, first, last := r.Verdict, r.firstQ(), r.lastQ()
	b.WriteString("| | first quarter | last quarter | end (churn stopped) |\n| --- | ---: | ---: | ---: |\n")
	fmt.Fprintf(b, "| server RSS, anonymous (judged) | %s | %s | %s |\n", mibf(v.RSSFirst), mibf(v.RSSLast), mibf(float64(r.End.RSSAnon)))
	for _, row := range []struct {
		name string
		of   func(SoakSample) float64
		end  int64
	}{
		{"server RSS, file-backed (code pages, bbolt's mapped file)", fileOf, r.End.RSSFile},
		{"server RSS, total", rssOf, r.End.RSS},
		{"data dir on disk", dataOf, r.End.DataBytes},
		{"Go heap in use", heapOf, r.End.HeapInuse},
	} {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", row.name, mibf(meanOf(first, row.of)), mibf(meanOf(last, row.of)), mibf(float64(row.end)))
	}
	fmt.Fprintf(b, "| goroutines | %.1f | %.1f | %d |\n", v.GoroutinesFirst, v.GoroutinesLast, r.End.Goroutines)
	fmt.Fprintf(b, "| open fds | %.1f | %.1f | %d |\n", v.FDsFirst, v.FDsLast, r.End.FDs)
	r.featuresRows(b)
	fmt.Fprintf(b, "| clients connected | | | %d of %d |\n\n", r.End.Connected, r.Settings.Clients)
}

// churnMarkdown writes the churn's operations by kind, the takeovers seen
// and the unexpected errors by kind.
func (r *SoakResult) churnMarkdown(b *bytes.Buffer) {
	fmt.Fprintf(b, "Churn: %d operations (%.1f/s)", r.ChurnOps(), float64(r.ChurnOps())/r.Settings.Duration.Seconds())
	for _, k := range slices.Sorted(maps.Keys(r.Ops)) {
		fmt.Fprintf(b, ", %s %d", k, r.Ops[k])
	}
	fmt.Fprintf(b, "; takeovers seen (older connection told `190 replaced`): %d.\n\n", r.Takeovers)
	if len(r.Errors) == 0 {
		b.WriteString("Unexpected errors: none.\n\n")
		return
	}
	b.WriteString("| unexpected error | count |\n| --- | ---: |\n")
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(b, "| %s | %d |\n", k, r.Errors[k])
	}
	b.WriteString("\n")
}

// samplesTable writes every sample, folded.
func (r *SoakResult) samplesTable(b *bytes.Buffer) {
	b.WriteString("<details><summary>samples</summary>\n\n| t (s) | RSS | RSS anon | RSS file | heap in use | data dir | goroutines | fds | connected | churn ops |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, x := range r.Samples {
		fmt.Fprintf(b, "| %.0f | %s | %s | %s | %s | %s | %d | %d | %d | %d |\n", x.At, mib(x.RSS), mib(x.RSSAnon), mib(x.RSSFile), mib(x.HeapInuse), mib(x.DataBytes),
			x.Goroutines, x.FDs, x.Connected, x.ChurnOps)
	}
	b.WriteString("\n</details>\n")
}

func mibf(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func retentionStr(d time.Duration) string {
	if d <= 0 {
		return "its default"
	}
	return d.String()
}

func fileOf(s SoakSample) float64 { return float64(s.RSSFile) }
func heapOf(s SoakSample) float64 { return float64(s.HeapInuse) }
func rssOf(s SoakSample) float64  { return float64(s.RSS) }
func dataOf(s SoakSample) float64 { return float64(s.DataBytes) }

// firstQ and lastQ are the judged quarters (see JudgeFlatness).
func (r *SoakResult) firstQ() []SoakSample {
	j := r.Samples[len(r.Samples)-r.Verdict.Judged:]
	return j[:len(j)/4]
}

func (r *SoakResult) lastQ() []SoakSample {
	j := r.Samples[len(r.Samples)-r.Verdict.Judged:]
	return j[len(j)-len(j)/4:]
}

func meanOf(s []SoakSample, f func(SoakSample) float64) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, x := range s {
		sum += f(x)
	}
	return sum / float64(len(s))
}
