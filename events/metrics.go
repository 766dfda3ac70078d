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
	MetricStoreLost     = "cliser_events_store_lost_total"
	MetricUnreadable    = "cliser_events_unreadable_total" // cluster: reads that skipped a message of the stream that is no event
	// MetricWriterReconnects counts, in a cluster, the times the event
	// writer's own NATS connection (publishconn.go) was made again.
	MetricWriterReconnects = "cliser_events_nats_reconnects_total"
)

// metrics are the log's counters; the gauges read the log at scrape.
type metrics struct {
	events      *prometheus.CounterVec
	dropped     prometheus.Counter
	storeErrors prometheus.Counter
	holds       prometheus.Counter

	byType []prometheus.Counter // Types' counters by index, resolved up front: no label lookup per event
}

func newMetrics() *metrics {
	m := &metrics{
		events: prom.CounterVec(MetricEvents, "Events written into the log, by type (a single node's counted when stored, a cluster's as its writer takes them; "+
			"the rest of those emitted are in cliser_events_queued or cliser_events_dropped_total).", "type"),
		dropped:     prom.Counter(MetricDropped, "Events dropped because the log's writer queue was full (the disk or NATS is behind)."),
		storeErrors: prom.Counter(MetricStoreErrors, "Failed writes of a batch of events to the log's store; the batch is retried."),
		holds:       prom.Counter(MetricHolds, "Times the cluster's event writer held its publishes back while this node's record writes were behind."),
	}
	for _, t := range Types {
		m.byType = append(m.byType, m.events.WithLabelValues(t))
	}
	return m
}

// countTaken counts the events of blocks the writer took in
// cliser_events_total, but for the first counted ones (counted when they
// were taken before, then put back): an add a type a take.
func (m *metrics) countTaken(blocks [][]queued, counted int) {
	var n [256]int // by queued.typ
	for _, b := range blocks {
		for i := range b {
			switch {
			case counted > 0:
				counted--
			case b[i].typ == 0:
				m.events.WithLabelValues(b[i].rare.typ).Inc()
			default:
				n[b[i].typ]++
			}
		}
	}
	for i, c := range m.byType {
		if n[i+1] > 0 {
			c.Add(float64(n[i+1]))
		}
	}
}

// collectors are the counters and the gauges every log has.
func (m *metrics) collectors(q *queue, newest func() uint64) []prometheus.Collector {
	return []prometheus.Collector{
		m.events, m.dropped, m.storeErrors, m.holds,
		prom.GaugeFunc(MetricQueued, "Events not in the log yet: waiting for its writer, or being written.", func() float64 { return float64(q.unwritten()) }),
		prom.GaugeFunc(MetricNewestSeq, "The newest seq in the event log.", func() float64 { return float64(newest()) }),
	}
}
