package harness

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cliser/cliser/internal/prom"
)

// The harness reads cliser's /metrics with Prometheus' own text parser:
// a page is parsed once into metric families, then the figures are taken
// from those.

// promHistogram is one Prometheus histogram as /metrics gives it:
// cumulative counts per upper bound (seconds), ascending, +Inf last.
type promHistogram struct {
	Le    []float64 `json:"le"`
	Cum   []float64 `json:"cumulative"`
	Sum   float64   `json:"sum"`
	Count float64   `json:"count"`
}

// promPage is one parsed /metrics page: metric families by name.
type promPage map[string]*dto.MetricFamily

// parsePromText parses Prometheus text exposition.
func parsePromText(r io.Reader) (promPage, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return fams, nil
}

// scrapeProm fetches and parses a Prometheus text endpoint.
func scrapeProm(ctx context.Context, url string) (promPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// Not gzipped: the server's gzip writer (~1 MB, pooled, and dropped
	// by its GC) would be most of what a window of 1,000 handshakes
	// counts as allocated.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s: %s", url, resp.Status)
	}
	return parsePromText(resp.Body)
}

// histogram is the unlabelled histogram called name, with +Inf as its last
// bound.
func (pg promPage) histogram(name string) (*promHistogram, error) {
	f := pg[name]
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM || len(f.GetMetric()) == 0 {
		return nil, fmt.Errorf("metrics: no histogram %s", name)
	}
	m := f.GetMetric()[0].GetHistogram()
	h := &promHistogram{Sum: m.GetSampleSum(), Count: float64(m.GetSampleCount())}
	for _, b := range m.GetBucket() {
		h.Le, h.Cum = append(h.Le, b.GetUpperBound()), append(h.Cum, float64(b.GetCumulativeCount()))
	}
	if n := len(h.Le); n == 0 || !math.IsInf(h.Le[n-1], 1) {
		h.Le, h.Cum = append(h.Le, math.Inf(1)), append(h.Cum, h.Count)
	}
	return h, nil
}

// gauges are the values of unlabelled gauges (or counters, or untyped
// samples), in the order of names.
func (pg promPage) gauges(names ...string) ([]float64, error) {
	out := make([]float64, len(names))
	for i, n := range names {
		f := pg[n]
		if f == nil || len(f.GetMetric()) == 0 {
			return nil, fmt.Errorf("metrics: no gauge %s", n)
		}
		v, ok := valueOf(f.GetMetric()[0])
		if !ok {
			return nil, fmt.Errorf("metrics: %s is a %s, not a gauge", n, f.GetType())
		}
		out[i] = v
	}
	return out, nil
}

// sum is the sum of every sample of the family called name (a counter's
// labelled values, or one gauge); 0 when the page has none.
func (pg promPage) sum(name string) float64 {
	f := pg[name]
	if f == nil {
		return 0
	}
	var s float64
	for _, m := range f.GetMetric() {
		v, _ := valueOf(m)
		s += v
	}
	return s
}

// valueOf is a gauge's, a counter's or an untyped sample's value; false
// for a histogram or a summary.
func valueOf(m *dto.Metric) (float64, bool) {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue(), true
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue(), true
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// summaryCount is how many observations the unlabelled summary called name
// has had.
func (pg promPage) summaryCount(name string) (float64, error) {
	f := pg[name]
	if f == nil || len(f.GetMetric()) == 0 || f.GetMetric()[0].GetSummary() == nil {
		return 0, fmt.Errorf("metrics: no summary %s", name)
	}
	return float64(f.GetMetric()[0].GetSummary().GetSampleCount()), nil
}

// scrapeGauges reads unlabelled gauges from a Prometheus text endpoint.
func scrapeGauges(ctx context.Context, url string, names ...string) ([]float64, error) {
	pg, err := scrapeProm(ctx, url)
	if err != nil {
		return nil, err
	}
	return pg.gauges(names...)
}

// since is what was observed between earlier and h (same buckets).
func (h *promHistogram) since(earlier *promHistogram) *promHistogram {
	if earlier == nil || len(earlier.Le) != len(h.Le) {
		return h
	}
	out := &promHistogram{Le: h.Le, Sum: h.Sum - earlier.Sum, Count: h.Count - earlier.Count}
	for i := range h.Cum {
		out.Cum = append(out.Cum, h.Cum[i]-earlier.Cum[i])
	}
	return out
}

// quantile is the upper bound (seconds) of the bucket holding the q-th
// observation: the true value lies at or below it. +Inf when it is past
// the last finite bucket; NaN when nothing was observed.
func (h *promHistogram) quantile(q float64) float64 {
	upper, _, ok := prom.BucketQuantile(q, h.Le, h.Cum)
	if !ok {
		return math.NaN()
	}
	return upper
}

// within is the q-quantile interpolated inside its bucket (seconds), as
// histogram_quantile reads it; +Inf and NaN as quantile.
func (h *promHistogram) within(q float64) float64 {
	_, v, ok := prom.BucketQuantile(q, h.Le, h.Cum)
	if !ok {
		return math.NaN()
	}
	return v
}

// counter is the value of name's sample whose label is value (a labelled
// counter such as a result breakdown).
func (pg promPage) counter(name, label, value string) (float64, error) {
	f := pg[name]
	if f == nil {
		return 0, fmt.Errorf("metrics: no counter %s", name)
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value && m.GetCounter() != nil {
				return m.GetCounter().GetValue(), nil
			}
		}
	}
	return 0, fmt.Errorf("metrics: no %s{%s=%q}", name, label, value)
}
