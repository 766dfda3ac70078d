package events

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/internal/prom"
)

// Metric names (docs/events.md).
const (
	MetricEvents        = "cliser_events_total"
	MetricDropped       = "cliser_events_dropped_total"
	MetricQueued        = "cliser_events_queued"
	MetricStoreErrors   = "cliser_events_store_errors_total"
	MetricNewestSeq     = "cliser_events_newest_seq"
	MetricRetainedBytes = "cliser_events_store_bytes"
	MetricHolds         = "cliser_events_holds_total"
)

// metrics are the log's counters; the gauges read the log at scrape.
type metrics struct {
	events      *prometheus.CounterVec
	dropped     prometheus.Counter
	storeErrors prometheus.Counter
	holds       prometheus.Counter

	byType map[string]prometheus.Counter // resolved up front, read-only: no label lookup per event
}

func newMetrics() *metrics {
	m := &metrics{
		events:      prom.CounterVec(MetricEvents, "Events emitted into the log, by type.", "type"),
		dropped:     prom.Counter(MetricDropped, "Events dropped because the log's writer queue was full (the disk or NATS is behind)."),
		storeErrors: prom.Counter(MetricStoreErrors, "Failed writes of a batch of events to the log's store; the batch is retried."),
		holds:       prom.Counter(MetricHolds, "Times the cluster's event writer held its publishes back while this node's record writes were behind."),
		byType:      make(map[string]prometheus.Counter),
	}
	for _, t := range Types {
		m.byType[t] = m.events.WithLabelValues(t)
	}
	return m
}

func (m *metrics) count(typ string) {
	if c, ok := m.byType[typ]; ok {
		c.Inc()
		return
	}
	m.events.WithLabelValues(typ).Inc()
}

// collectors are the counters and the gauges every log has.
func (m *metrics) collectors(q *queue, newest func() uint64) []prometheus.Collector {
	return []prometheus.Collector{
		m.events, m.dropped, m.storeErrors, m.holds,
		prom.GaugeFunc(MetricQueued, "Events waiting for the log's writer.", func() float64 { return float64(q.len()) }),
		prom.GaugeFunc(MetricNewestSeq, "The newest seq in the event log.", func() float64 { return float64(newest()) }),
	}
}
