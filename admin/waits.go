package admin

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
)

// Metric names of the bound on long-lived requests.
const (
	MetricEventWaits        = "cliser_admin_event_waits"
	MetricEventWaitsRefused = "cliser_admin_event_waits_refused_total"
	// MetricEventStreamsEnded counts the event streams the server ended,
	// by why (streamEndReasons); a client that leaves is not counted.
	MetricEventStreamsEnded = "cliser_admin_event_streams_ended_total"
)

// waitsRetryAfter is the Retry-After of a refused stream or long-poll.
const waitsRetryAfter = 5 * time.Second

// waitSlots bounds the requests that hold their connection for long
// (event streams, long-polls) to half of --admin-max-connections. Nothing
// ends them but their client: with no bound, 256 dashboards or `cliser
// events tail`s took every slot of the listener for good, and /healthz and
// /readyz waited in the kernel's queue until a liveness probe failed and
// the supervisor killed a healthy server with its whole fleet. The other
// half is left to short requests, which the HTTP timeouts free.
type waitSlots struct {
	max     int64
	open    atomic.Int64
	logGate loggate.Gate // the first refusal of a minute is logged
	gauge   prometheus.GaugeFunc
	refused prometheus.Counter
	ended   *prometheus.CounterVec // by reason: events_stream.go
}

func newWaitSlots(maxConns int, m *Metrics) *waitSlots {
	s := &waitSlots{max: int64(max(1, maxConns/2)),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricEventWaitsRefused,
			Help: "Event streams and long-polls refused 503 because half of --admin-max-connections already held one."}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricEventStreamsEnded,
			Help: "Event streams the server ended, by reason: overtaken by the log's retention, a read error, a reader stalled for 30 s, its token revoked, the server stopping."},
			[]string{"reason"}),
	}
	for _, r := range streamEndReasons {
		s.ended.WithLabelValues(r)
	}
	s.gauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: MetricEventWaits,
		Help: "Open event streams and long-polls of the admin API (at most half of --admin-max-connections)."},
		func() float64 { return float64(s.open.Load()) })
	if m != nil {
		for _, c := range []prometheus.Collector{s.gauge, s.refused, s.ended} {
			_ = m.Registry().Register(c) // a second API on one Metrics keeps the first's
		}
	}
	return s
}

// takeWaitSlot takes a slot for a stream or a long-poll, or answers 503
// (with Retry-After), counts and, at most once a minute, logs the refusal.
// ok: the caller must call release when the request ends.
func (a *API) takeWaitSlot(w http.ResponseWriter, what string) (release func(), ok bool) {
	s := a.waits
	if s.open.Add(1) > s.max {
		s.open.Add(-1)
		s.refused.Inc()
		if s.logGate.Open(time.Minute) {
			a.opts.log.Warn("admin API: an event stream or long-poll was refused: half of --admin-max-connections already "+
				"wait for events, the rest is kept for probes and short requests (further refusals this minute are only counted)",
				zap.Int64("max_event_waits", s.max), zap.String("refused", what))
		}
		w.Header().Set("Retry-After", fmt.Sprint(int(waitsRetryAfter/time.Second)))
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: fmt.Sprintf(
			"%d event streams and long-polls are open, the most this server holds (half of --admin-max-connections, "+
				"the other half is kept for probes and short requests): try again later, close some, or raise --admin-max-connections", s.max)})
		return nil, false
	}
	return func() { s.open.Add(-1) }, true
}
