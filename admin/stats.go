package admin

import (
	"context"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cliser/cliser/internal/prom"
	"github.com/cliser/cliser/internal/tick"
	"github.com/cliser/cliser/protocol"
)

// GET /v1/stats is the summary a dashboard or a script wants without
// scraping and diffing /metrics itself: the counts now, a time series of
// connected clients over the last hour, and rates over the last minutes,
// all computed here from the registry and the Prometheus counters.

// Defaults of the stats sampler.
const (
	defaultStatsInterval = 5 * time.Second
	// statsHistory is how far back the series goes.
	statsHistory = time.Hour
	// StatsWindow is the span of the disconnect counts and RTT quantiles.
	StatsWindow = 5 * time.Minute
	// statsRateSpan is the span of handshakes per second.
	statsRateSpan = time.Minute
)

// StatsResponse is the body of GET /v1/stats.
type StatsResponse struct {
	Node string `json:"node,omitempty"`
	Time string `json:"time"`
	StatsFigures
	IntervalSeconds float64      `json:"interval_seconds"`
	WindowSeconds   float64      `json:"window_seconds"`
	Series          []StatsPoint `json:"series"`
	// Nodes is every node's figures, in cluster mode only (stats_nodes.go).
	Nodes []NodeStats `json:"nodes,omitempty"`
}

// StatsFigures are a node's figures: the top of GET /v1/stats and each
// line of its nodes list.
type StatsFigures struct {
	Connected      int            `json:"connected"`
	Records        int            `json:"records"`
	HandshakesPerS float64        `json:"handshakes_per_second"`
	Disconnects    map[string]int `json:"disconnects"`
	RTTP50Seconds  *float64       `json:"rtt_p50_seconds"`
	RTTP99Seconds  *float64       `json:"rtt_p99_seconds"`
}

// StatsPoint is one sample of the series.
type StatsPoint struct {
	Time      int64 `json:"t"` // Unix seconds
	Connected int   `json:"connected"`
	Records   int   `json:"records"`
}

// sample is one tick: the counts then and what the counters added since
// the tick before.
type sample struct {
	at                 time.Time
	connected, records int
	handshakes         float64
	disconnects        map[string]float64
	rtt                []float64 // per-bucket (not cumulative) observations
	// prior: the last run's ends, read from the event log at start
	// (seedPrior): disconnects only, not a point of the series.
	prior bool
}

// counters are the cumulative values read at a tick.
type counters struct {
	handshakes  float64
	disconnects map[string]float64
	rtt         []float64 // cumulative bucket counts, +Inf last
}

// statsSampler keeps the last hour of samples. Safe from any goroutine.
type statsSampler struct {
	counts func() (connected, total int)
	m      *Metrics // nil: counts only
	every  time.Duration

	mu      sync.Mutex
	samples []sample // oldest first, at most statsHistory/every+1
	last    counters
}

func newStatsSampler(counts func() (int, int), m *Metrics, every time.Duration) *statsSampler {
	s := &statsSampler{counts: counts, m: m, every: every}
	s.last = s.read()
	s.tick(time.Now())
	return s
}

// run samples every interval until ctx ends.
func (s *statsSampler) run(ctx context.Context) { tick.Every(ctx, s.every, s.tick) }

func (s *statsSampler) tick(now time.Time) {
	c, total := s.counts()
	cur := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	smp := sample{at: now, connected: c, records: total,
		handshakes: cur.handshakes - s.last.handshakes, disconnects: map[string]float64{}}
	for r, v := range cur.disconnects {
		if d := v - s.last.disconnects[r]; d > 0 {
			smp.disconnects[r] = d
		}
	}
	if len(cur.rtt) == len(s.last.rtt) {
		smp.rtt = make([]float64, len(cur.rtt))
		prevCum := 0.0
		for i := range cur.rtt {
			cum := cur.rtt[i] - s.last.rtt[i]
			smp.rtt[i] = cum - prevCum
			prevCum = cum
		}
	}
	s.last = cur
	keep := int(statsHistory/s.every) + 1
	s.samples = append(s.samples, smp)
	if len(s.samples) > keep {
		s.samples = append(s.samples[:0], s.samples[len(s.samples)-keep:]...)
	}
	// Only the window's RTT is read: older samples drop their buckets
	// (a float each), so the hour holds 5 minutes of them.
	for i := range s.samples {
		if now.Sub(s.samples[i].at) <= StatsWindow {
			break
		}
		s.samples[i].rtt = nil
	}
}

// seedPrior puts the ends a previous run of this node logged in the
// window before this start into the disconnects, as of at (the newest of
// them): a restart's own "server shutting down" ends were the previous
// process's counters, and the overview said none.
func (s *statsSampler) seedPrior(at time.Time, byReason map[string]int) {
	if len(byReason) == 0 {
		return
	}
	if now := time.Now(); at.After(now) {
		// Logged before a clock step back: as of now, they leave the
		// window with it, not once the clock has caught up with them.
		at = now
	}
	smp := sample{at: at, disconnects: make(map[string]float64, len(byReason)), prior: true}
	for r, n := range byReason {
		smp.disconnects[r] = float64(n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append([]sample{smp}, s.samples...)
}

// read takes the cumulative counters from the metrics.
func (s *statsSampler) read() counters {
	c := counters{disconnects: map[string]float64{}}
	if s.m == nil {
		return c
	}
	c.handshakes = counterValue(s.m.handshakeOK)
	for _, r := range protocol.Reasons() {
		if ctr := s.m.disconnects[r]; ctr != nil {
			c.disconnects[r.String()] = counterValue(ctr)
		}
	}
	var pb dto.Metric
	if s.m.rtt.Write(&pb) == nil && pb.Histogram != nil {
		for _, b := range pb.Histogram.GetBucket() {
			c.rtt = append(c.rtt, float64(b.GetCumulativeCount()))
		}
		c.rtt = append(c.rtt, float64(pb.Histogram.GetSampleCount()))
	}
	return c
}

func counterValue(c prometheus.Counter) float64 {
	var pb dto.Metric
	if c.Write(&pb) != nil || pb.Counter == nil {
		return 0
	}
	return pb.Counter.GetValue()
}

// snapshot builds the answer at now.
func (s *statsSampler) snapshot(now time.Time) StatsResponse {
	c, total := s.counts()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := StatsResponse{
		Time:            now.UTC().Format(time.RFC3339Nano),
		StatsFigures:    StatsFigures{Connected: c, Records: total, Disconnects: map[string]int{}},
		IntervalSeconds: s.every.Seconds(), WindowSeconds: StatsWindow.Seconds(),
		Series: make([]StatsPoint, 0, len(s.samples)),
	}
	var hs float64
	var rtt []float64
	var first time.Time
	for _, smp := range s.samples {
		age := now.Sub(smp.at)
		if smp.prior {
			if age <= StatsWindow {
				for r, d := range smp.disconnects {
					out.Disconnects[r] += int(d)
				}
			}
			continue
		}
		out.Series = append(out.Series, StatsPoint{Time: smp.at.Unix(), Connected: smp.connected, Records: smp.records})
		if age <= statsRateSpan {
			if first.IsZero() {
				first = smp.at
			}
			hs += smp.handshakes
		}
		if age > StatsWindow {
			continue
		}
		for r, d := range smp.disconnects {
			out.Disconnects[r] += int(d)
		}
		if rtt == nil && smp.rtt != nil {
			rtt = make([]float64, len(smp.rtt))
		}
		for i := range smp.rtt {
			if i < len(rtt) {
				rtt[i] += smp.rtt[i]
			}
		}
	}
	// A sample's handshakes happened in the interval before it.
	if span := now.Sub(first) + s.every; !first.IsZero() && span > 0 {
		out.HandshakesPerS = math.Round(hs/span.Seconds()*100) / 100
	}
	out.RTTP50Seconds = quantile(0.5, rtt)
	out.RTTP99Seconds = quantile(0.99, rtt)
	return out
}

// quantile estimates q from per-bucket counts over rttBuckets (the last
// count is +Inf) by linear interpolation within the bucket, as
// Prometheus's histogram_quantile does; in +Inf's bucket, the highest
// finite bound; nil when nothing was observed.
func quantile(q float64, counts []float64) *float64 {
	if len(counts) != len(rttBuckets)+1 {
		return nil
	}
	cum := make([]float64, len(counts))
	run := 0.0
	for i, c := range counts {
		run += c
		cum[i] = run
	}
	_, v, ok := prom.BucketQuantile(q, rttBuckets, cum)
	if !ok {
		return nil
	}
	if math.IsInf(v, 1) {
		v = rttBuckets[len(rttBuckets)-1]
	}
	return &v
}

func (a *API) handleStats(w http.ResponseWriter, r *http.Request) {
	out := a.stats.snapshot(time.Now())
	out.Node = a.reg.Node()
	if a.opts.nodes != nil {
		out.Nodes = a.opts.nodes.Gather(r.Context(), a.ownNodeStats)
	}
	writeJSON(w, http.StatusOK, out)
}
